"""Refuse oversized request bodies (413) before anything reads them.

A pure ASGI middleware, outermost: a declared ``Content-Length`` over the limit is answered at
once without reading a byte; a body sent without one (chunked) is counted as it arrives and
refused as soon as it passes the limit, so no request can make the server hold more than the
limit in memory. The limits are sized for the largest legitimate requests: a phone's sync of
1,000 scans (``MAX_SYNC_SCANS``), each with a 2,000-character note written in Chinese and
escaped as ``\\uXXXX`` by a JSON encoder, is about 12.5 MB; everything else is a few kB.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import problem_body, problem_response

# Routes that take batches; every other route gets the small limit.
BATCH_PATHS = ("/mobile/v1/sync", "/mobile/v1/tracks", "/epcis/v2/capture")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_batch_bytes: int,
        batch_paths: Iterable[str] = BATCH_PATHS,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_batch_bytes = max_batch_bytes
        self.batch_paths = tuple(batch_paths)

    def limit_for(self, path: str) -> int:
        return self.max_batch_bytes if path in self.batch_paths else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared == -1:
            await _problem(scope, send, 400, "bad-request", "Bad request", "invalid Content-Length")
            return
        if declared is not None and declared > limit:
            await _too_large(scope, send, limit)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, noting_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(scope, send, limit)


def _content_length(scope: Scope) -> int | None:
    """The declared length, None if absent, -1 if unreadable."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    await _problem(
        scope,
        send,
        413,
        "payload-too-large",
        "Payload too large",
        f"the request body is larger than this route accepts ({limit} bytes)",
        headers={"Connection": "close"},
    )


async def _problem(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    response = problem_response(problem_body(status, code, title, detail), headers)

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)
