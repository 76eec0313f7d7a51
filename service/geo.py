"""Distances on the Earth, for the rules that read positions (scans, trip tracks).

Great-circle distances on a sphere of the mean Earth radius; the distance from a point to a
corridor on a local flat projection around the corridor (good to well under 1 % over the few
hundred kilometres of a trip).
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088

LatLon = tuple[float, float]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def km_from_segment(point: LatLon, start: LatLon, end: LatLon) -> float:
    """Distance in kilometres from ``point`` to the straight segment from ``start`` to ``end``."""
    scale = math.cos(math.radians((start[0] + end[0]) / 2))

    def xy(p: LatLon) -> tuple[float, float]:
        # Kilometres east and north of ``start`` (equirectangular around the segment).
        dlon = (p[1] - start[1] + 180) % 360 - 180
        return (
            math.radians(dlon) * scale * EARTH_RADIUS_KM,
            math.radians(p[0] - start[0]) * EARTH_RADIUS_KM,
        )

    px, py = xy(point)
    ex, ey = xy(end)
    length2 = ex * ex + ey * ey
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, (px * ex + py * ey) / length2))
    nearest = (start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
    return haversine_km(*point, *nearest)
