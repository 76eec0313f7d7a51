"""The problem body every error answers with (RFC 7807, ``application/problem+json``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FieldError(BaseModel):
    field: str
    message: str
    type: str | None = None


class Problem(BaseModel):
    """An error: ``type`` names it for programs (a stable URI ending in a code such as
    ``custody-mismatch``), ``title`` and ``detail`` for people, ``errors`` lists the fields at
    fault. Some problems carry more members (a refused scan's ``anomalies``, a retry's
    ``retry_after``). ``request_id`` is the id of the request that met it, as in the answer's
    ``X-Request-ID`` header and the server's log lines."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://medwaste.example/problems/invalid-input",
                    "title": "Invalid input",
                    "status": 422,
                    "detail": "invalid fields: body.weight_kg",
                    "errors": [
                        {
                            "field": "body.weight_kg",
                            "message": "Input should be greater than 0",
                            "type": "greater_than",
                        }
                    ],
                    "request_id": "3f9c1b7e0d2a4c6e8b1d3f5a7c9e0b2d",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    request_id: str | None = None
