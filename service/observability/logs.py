"""JSON logs, one object a line, each carrying the id of the request it was written for.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id``, and on
the access line (logger ``medwaste.access``) ``method``, ``route``, ``status`` and
``duration_ms``; ``exception`` holds a traceback when there is one.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The id of the request being served (None outside one: background threads, the CLI).
REQUEST_ID: ContextVar[str | None] = ContextVar("medwaste_request_id", default=None)
# An id a client may hand in (X-Request-ID): short and plain, so it is safe in logs and bodies.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ACCESS_FIELDS = ("method", "route", "status", "duration_ms")


def current_request_id() -> str | None:
    return REQUEST_ID.get()


def accept_request_id(offered: str | None) -> str:
    """The client's id when it is well formed, else a new one."""
    if offered is not None and _WELL_FORMED.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` (uvicorn's ``log_config``) writing JSON lines to
    stderr. uvicorn's own access log is off: ``medwaste.access`` writes one line per request,
    with its route and request id."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }
