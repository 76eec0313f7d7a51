"""A trip's track as GeoJSON (RFC 7946): the route as a LineString, its stops and the places
where the track rules found something as Points. Positions are [longitude, latitude]."""

from __future__ import annotations

from typing import Any

from schemas.tracks import TrackPublic


def _point(longitude: float, latitude: float, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        "properties": properties,
    }


def track_geojson(track: TrackPublic) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    points = track.points
    if points:
        route = {
            "feature": "route",
            "manifest_id": str(track.manifest_id),
            "from": points[0].recorded_at.isoformat(),
            "to": points[-1].recorded_at.isoformat(),
            "points": len(points),
        }
        if len(points) == 1:
            features.append(_point(points[0].longitude, points[0].latitude, route))
        else:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[p.longitude, p.latitude] for p in points],
                    },
                    "properties": route,
                }
            )
    for stop in track.stops:
        features.append(
            _point(
                stop.longitude,
                stop.latitude,
                {
                    "feature": "stop",
                    "from": stop.started_at.isoformat(),
                    "to": stop.ended_at.isoformat(),
                    "minutes": stop.minutes,
                },
            )
        )
    for anomaly in track.anomalies:
        lat, lon = anomaly.facts.get("latitude"), anomaly.facts.get("longitude")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            continue
        features.append(
            _point(
                float(lon),
                float(lat),
                {
                    "feature": "anomaly",
                    "anomaly_id": str(anomaly.id),
                    "kind": anomaly.kind,
                    "severity": anomaly.severity,
                    "status": anomaly.status,
                    "from": anomaly.facts.get("from"),
                    "to": anomaly.facts.get("to"),
                    "minutes": anomaly.facts.get("minutes"),
                },
            )
        )
    return {"type": "FeatureCollection", "features": features}
