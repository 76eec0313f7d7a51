"""Oversized request bodies are refused with 413 before anything reads them, and the largest
legitimate request (a 1,000-scan phone sync with long Chinese notes) still goes through."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from schemas.mobile import MAX_SYNC_SCANS
from service.config import Settings
from tests.custody.helpers import hospital

MiB = 1024 * 1024


def _call(
    app: FastAPI, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, dict[str, Any], int]:
    """Send a request straight to the ASGI app; returns (status, body, bytes the app read)."""
    read = 0
    pending = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    # On a thread of its own: the test's thread may already run an event loop (Playwright's,
    # when the browser tests ran first in the same process), and asyncio.run refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), read


def test_a_declared_oversized_body_is_refused_unread(app: FastAPI, settings: Settings) -> None:
    for path, limit in (
        ("/api/v1/auth/token", settings.max_body_bytes),  # unauthenticated
        ("/api/v1/scans", settings.max_body_bytes),
        ("/mobile/v1/sync", settings.max_batch_body_bytes),
    ):
        size = limit + 1
        status, problem, read = _call(
            app,
            path,
            [(b"content-type", b"application/json"), (b"content-length", str(size).encode())],
            [b"x" * MiB] * (size // MiB + 1),
        )
        assert status == 413, (path, problem)
        assert problem["type"].endswith("/payload-too-large")
        assert str(limit) in problem["detail"]
        assert read == 0, path


def test_a_chunked_oversized_body_is_cut_off_at_the_limit(app: FastAPI, settings: Settings) -> None:
    chunk = 64 * 1024
    chunks = [b"{" + b" " * (chunk - 1)] + [b" " * chunk] * (4 * settings.max_body_bytes // chunk)
    status, problem, read = _call(
        app, "/api/v1/scans", [(b"content-type", b"application/json")], chunks
    )
    assert status == 413, problem
    assert read <= settings.max_body_bytes + chunk


def test_a_malformed_content_length_is_400(app: FastAPI) -> None:
    for bad in (b"abc", b"-5"):
        status, problem, _ = _call(app, "/api/v1/scans", [(b"content-length", bad)], [b"{}"])
        assert status == 400, problem


def test_the_largest_legitimate_sync_fits(client: TestClient, session: Session) -> None:
    """1,000 scans, each with a 2,000-character Chinese note (the longest a note may be),
    sent by an encoder that escapes every non-ASCII character: under the batch limit."""
    h = hospital(session, client)
    note = "密封袋破损需复核重量" * 200
    scans = [
        {
            # Refused by validation (registration is its own route): cheap to judge, same size.
            "qr_payload": "MW1." + "a" * 26 + ".k" + "b" * 10 + "." + "c" * 86,
            "action": "register",
            "client_event_id": str(uuid.uuid4()),
            "scanned_at": "2026-11-02T08:00:00.123456+08:00",
            "weight_kg": 12.345,
            "latitude": 40.842,
            "longitude": 111.749,
            "site_id": str(uuid.uuid4()),
            "manifest_id": str(uuid.uuid4()),
            "note": note,
        }
        for _ in range(MAX_SYNC_SCANS)
    ]
    body = json.dumps({"device_id": "phone-" + "x" * 94, "scans": scans}, ensure_ascii=True)
    assert len(body) > 12_000_000  # truly the worst case, not a small batch
    response = client.post(
        "/mobile/v1/sync",
        content=body,
        headers={**h.staff, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["results"]) == MAX_SYNC_SCANS
    # A single scan of the largest size is far under the small limit.
    one = client.post(
        "/api/v1/scans",
        content=json.dumps(scans[0], ensure_ascii=True),
        headers={**h.staff, "Content-Type": "application/json"},
    )
    assert one.status_code == 422, one.text[:300]
