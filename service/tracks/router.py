"""A trip's track over HTTP, for whoever may see the manifest: points, stops and what the
track rules found, as JSON or as GeoJSON."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from schemas.common import example_of
from schemas.tracks import TrackPublic
from service.anomalies.dependencies import ProfilesDep
from service.anomalies.track import track_view
from service.auth.dependencies import CurrentActor
from service.deps import SessionDep
from service.manifests.service import visible_manifest
from service.tracks.geojson import track_geojson

router = APIRouter(prefix="/api/v1", tags=["tracks"])

GEOJSON = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


# The example track (schemas.tracks) as this service writes it in GeoJSON.
_GEOJSON_EXAMPLE = track_geojson(TrackPublic.model_validate(example_of(TrackPublic)))
_FEATURES = (
    "a GeoJSON FeatureCollection (RFC 7946) of the route (a LineString), its stops and the "
    "places of its anomalies (Points)"
)


def _geojson_answer(description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {GEOJSON: {"example": _GEOJSON_EXAMPLE}}}}


# Declared before /track so that "track.geojson" is its own path.
@router.get(
    "/manifests/{manifest_id}/track.geojson",
    response_class=GeoJSONResponse,
    responses=_geojson_answer(f"The track as {_FEATURES}"),
)
def track_as_geojson(
    manifest_id: uuid.UUID, session: SessionDep, actor: CurrentActor, profiles: ProfilesDep
) -> JSONResponse:
    """A trip's track as GeoJSON (RFC 7946): the route as a line, its stops and the places its
    anomalies were raised as points, for anyone who may see the manifest."""
    track = track_view(session, visible_manifest(session, actor, manifest_id), profiles)
    return JSONResponse(track_geojson(track), media_type=GEOJSON)


@router.get(
    "/manifests/{manifest_id}/track",
    response_model=TrackPublic,
    responses=_geojson_answer(f"The track as JSON, or with `format=geojson` as {_FEATURES}"),
)
def get_track(
    manifest_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    profiles: ProfilesDep,
    format: Literal["json", "geojson"] = "json",
) -> TrackPublic | JSONResponse:
    """A trip's track: the positions the driver's phone recorded (with their accuracy), the
    stops found in them and the track's anomalies; `format=geojson` as the `.geojson` path."""
    track = track_view(session, visible_manifest(session, actor, manifest_id), profiles)
    if format == "geojson":
        return JSONResponse(track_geojson(track), media_type=GEOJSON)
    return track
