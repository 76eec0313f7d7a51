"""GS1 EPCIS 2.0 (JSON-LD, REST binding subset): query, a container's life, capture."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from service.anomalies.dependencies import ProfilesDep
from service.auth.dependencies import CurrentActor
from service.custody.ledger import chain_of
from service.custody.scope import visible_container
from service.deps import ClockDep, SessionDep, SettingsDep
from service.epcis import examples
from service.epcis.capture import capture_document
from service.epcis.export import records_of
from service.epcis.identifiers import Namer
from service.epcis.mapping import document, query_document
from service.epcis.query import EventQuery, query_events
from service.errors import InvalidInput
from service.labels.dependencies import PublicKeysDep, SignerDep
from service.pagination import an_int, encode_cursor, read_cursor

router = APIRouter(tags=["epcis"])
LD_JSON = "application/ld+json"
MAX_PER_PAGE = 1000


class LdJsonResponse(JSONResponse):
    media_type = LD_JSON


def _answer(description: str, media_type: str, body: dict[str, Any]) -> dict[int | str, Any]:
    return {200: {"description": description, "content": {media_type: {"example": body}}}}


def _list(values: list[str] | None) -> list[str]:
    return [part for value in values or [] for part in value.split("|") if part]


def _time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone offset")
    return moment.astimezone(UTC)


@router.get(
    "/epcis/v2/events",
    response_class=LdJsonResponse,
    responses=_answer("An EPCISQueryDocument (JSON-LD)", LD_JSON, examples.QUERY_DOCUMENT),
)
def get_events(
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    clock: ClockDep,
    event_type: Annotated[list[str] | None, Query(alias="eventType")] = None,
    ge_event_time: Annotated[str | None, Query(alias="GE_eventTime")] = None,
    lt_event_time: Annotated[str | None, Query(alias="LT_eventTime")] = None,
    eq_biz_step: Annotated[list[str] | None, Query(alias="EQ_bizStep")] = None,
    match_any_epc: Annotated[list[str] | None, Query(alias="MATCH_anyEPC")] = None,
    eq_biz_location: Annotated[list[str] | None, Query(alias="EQ_bizLocation")] = None,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=MAX_PER_PAGE)] = 100,
    next_page_token: Annotated[str | None, Query(alias="nextPageToken")] = None,
) -> JSONResponse:
    """Events as an ``EPCISQueryDocument``, scoped to the containers the caller may see. When
    more remain, the ``Link`` header names the next page (``rel="next"``) and
    ``GS1-Next-Page-Token`` carries its token."""
    token = read_cursor(next_page_token, after=an_int)
    page = query_events(
        session=session,
        actor=actor,
        namer=Namer(settings.public_base_url),
        query=EventQuery(
            event_types=_list(event_type),
            ge_event_time=_time("GE_eventTime", ge_event_time),
            lt_event_time=_time("LT_eventTime", lt_event_time),
            biz_steps=_list(eq_biz_step),
            any_epc=_list(match_any_epc),
            biz_locations=_list(eq_biz_location),
            per_page=per_page,
            after=token[0] if token is not None else None,
        ),
    )
    headers = {}
    if page.next_after is not None:
        next_token = encode_cursor({"after": page.next_after})
        headers["GS1-Next-Page-Token"] = next_token
        headers["Link"] = f'<?nextPageToken={next_token}&perPage={per_page}>; rel="next"'
    return JSONResponse(
        query_document(page.events, created=clock()), media_type=LD_JSON, headers=headers
    )


@router.get(
    "/api/v1/containers/{container_id}/epcis",
    response_class=LdJsonResponse,
    responses=_answer("An EPCISDocument (JSON-LD)", LD_JSON, examples.DOCUMENT),
)
def container_life(
    container_id: str,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    clock: ClockDep,
) -> JSONResponse:
    """One container's whole life as an ``EPCISDocument``."""
    container = visible_container(session, actor, container_id)
    chain = chain_of(session, container.id)
    records = records_of(session, Namer(settings.public_base_url), chain)
    return JSONResponse(document([r.event for r in records], created=clock()), media_type=LD_JSON)


@router.post(
    "/epcis/v2/capture",
    response_class=JSONResponse,
    responses=_answer(
        "Each event's outcome, in order, and the counts",
        "application/json",
        examples.CAPTURE_RESULT,
    ),
)
def capture(
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    clock: ClockDep,
    keys: PublicKeysDep,
    signer: SignerDep,
    profiles: ProfilesDep,
    body: Annotated[Any, Body(media_type=LD_JSON)],
) -> JSONResponse:
    """Take in an ``EPCISDocument``: each event becomes a custody scan of the caller, or is
    refused on its own. Answers ``{"results": [{eventID, status, events, error,
    anomalies}], "created", "duplicates", "rejected"}`` (200); a body that is not an
    EPCIS document at all gets 422."""
    results = capture_document(
        session=session,
        actor=actor,
        document=body,
        namer=Namer(settings.public_base_url),
        signer=signer,
        public_keys=keys,
        now=clock(),
        profiles=profiles,
        custody_on_receipt_scan=settings.custody_on_receipt_scan,
    )
    counts = {
        s: sum(1 for r in results if r["status"] == s) for s in ("created", "duplicate", "rejected")
    }
    return JSONResponse(
        {
            "results": results,
            "created": counts["created"],
            "duplicates": counts["duplicate"],
            "rejected": counts["rejected"],
        }
    )
