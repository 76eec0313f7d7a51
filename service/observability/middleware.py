"""The request's id, its latency histogram and its access log line (a pure ASGI middleware,
outermost, so that 413s and security headers are timed and carry the id too).

The id is the client's ``X-Request-ID`` when well formed, else a new one; it is answered in
the ``X-Request-ID`` header, written on every log line the request causes and put in every
problem body (``service.errors.problem_response``).
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability.logs import REQUEST_ID, accept_request_id
from service.observability.metrics import REQUEST_DURATION, route_label

HEADER = "X-Request-ID"
access_log = logging.getLogger("medwaste.access")


class RequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(Headers(scope=scope).get(HEADER))
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # Left set: the unexpected-error handler, outside every middleware, renders the
            # 500 with it.
            self._record(scope, status, started)
            raise
        self._record(scope, status, started)
        REQUEST_ID.reset(token)

    @staticmethod
    def _record(scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = route_label(scope)
        REQUEST_DURATION.labels(method=scope["method"], route=route, status=str(status)).observe(
            elapsed
        )
        access_log.info(
            "%s %s %d",
            scope["method"],
            route,
            status,
            extra={
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
