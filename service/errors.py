"""Domain errors and their RFC 7807 rendering.

Services raise these; one set of handlers turns them, request validation errors and unknown
paths into ``application/problem+json`` bodies: ``{type, title, status, detail}`` plus
``errors`` for field problems, and ``request_id``: the id the answer's ``X-Request-ID`` header
and the request's log lines carry, so a problem a user reports leads to its log lines.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.observability.logs import current_request_id

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://medwaste.example/problems/"
log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"
    # A refusal whose record must survive (a refused scan is evidence): commit, then answer.
    keep_changes: bool = False

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra or {}

    def problem(self) -> dict[str, Any]:
        return problem_body(
            self.status, self.code, self.title, self.detail, errors=self.errors, **self.extra
        )


class NotFound(DomainError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict with the current state"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Not allowed"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Not authenticated"

    def __init__(self, detail: str = "missing or invalid credentials", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class InvalidInput(DomainError):
    status, code, title = 422, "invalid-input", "Invalid input"


class TooManyRequests(DomainError):
    status, code, title = 429, "too-many-requests", "Too many requests"


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def item_problem(exc: ValidationError, item: str) -> dict[str, Any]:
    """The 422 problem of one malformed item of a batch (a scan, a track point)."""
    errors = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())) or item,
            "message": err.get("msg", ""),
            "type": err.get("type"),
        }
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    fields = ", ".join(e["field"] for e in errors[:5])
    return problem_body(
        422, "invalid-input", "Invalid input", f"invalid {item} fields: {fields}", errors=errors
    )


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem as an HTTP answer, with the request's id (an unexpected error is rendered
    outside the middleware that sets the header, so the id is set here as well)."""
    request_id = current_request_id()
    if request_id is not None:
        body = {**body, "request_id": request_id}
        headers = {**(headers or {}), "X-Request-ID": request_id}
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


_HTTP_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Not authenticated"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type")})
    return out


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.problem(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        fields = ", ".join(e["field"] for e in errors[:5])
        return problem_response(
            problem_body(
                422, "invalid-input", "Invalid input", f"invalid fields: {fields}", errors=errors
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _HTTP_TITLES.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            problem_body(exc.status_code, code, title, detail), getattr(exc, "headers", None)
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # A reference to something that does not exist, or a duplicate, that no check caught
        # first: the request conflicts with the stored data. Nothing was written.
        log.warning("integrity error answered as 409: %s", exc.orig)
        return problem_response(
            problem_body(
                409,
                "conflict",
                "Conflict with stored data",
                "the request refers to something that does not exist or duplicates a record",
            )
        )

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> JSONResponse:
        # A value from the request that the database cannot hold or compare (a NUL character
        # in a text on PostgreSQL, a number out of a column's range): malformed input.
        log.info("data error answered as 422: %s", exc.orig)
        return problem_response(
            problem_body(
                422,
                "invalid-input",
                "Invalid input",
                "the request holds a value the database cannot store or compare",
            )
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(
            problem_body(500, "internal-error", "Internal error", "an unexpected error occurred")
        )
