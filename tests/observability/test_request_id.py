"""The request id: taken from the client when well formed, answered in the header, carried in
every problem body and on every log line the request writes (JSON, one object a line)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.observability.logs import JsonFormatter, accept_request_id


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the service's JSON handler writes, for every logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_problem_body_carries_the_header_and_log_line_request_id(
    client: TestClient, log_lines: io.StringIO
) -> None:
    response = client.get("/api/v1/containers/C-1", headers={"X-Request-ID": "abc-123.x:y"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "abc-123.x:y"
    assert response.json()["request_id"] == "abc-123.x:y"
    [access] = [line for line in lines(log_lines) if line["logger"] == "medwaste.access"]
    assert access == {
        "time": access["time"],
        "level": "INFO",
        "logger": "medwaste.access",
        "message": "GET /api/v1/containers/{container_id} 401",
        "request_id": "abc-123.x:y",
        "method": "GET",
        "route": "/api/v1/containers/{container_id}",
        "status": 401,
        "duration_ms": access["duration_ms"],
    }
    assert access["time"].endswith("+00:00")
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0


@pytest.mark.parametrize(
    "offered",
    [None, "", "has space", "x" * 129, "new\nline", "ünïcode".encode(), "<script>"],
)
def test_an_absent_or_malformed_id_is_replaced_by_a_new_one(
    client: TestClient, offered: str | bytes | None
) -> None:
    headers = {} if offered is None else {"X-Request-ID": offered}
    first = client.get("/no/such/route", headers=headers)
    second = client.get("/no/such/route", headers=headers)
    ids = [r.headers["X-Request-ID"] for r in (first, second)]
    assert ids[0] != ids[1]
    for response, request_id in zip((first, second), ids, strict=True):
        assert len(request_id) == 32 and int(request_id, 16) >= 0
        assert response.json()["request_id"] == request_id


def test_accept_request_id_keeps_only_well_formed_ids() -> None:
    assert accept_request_id("9f1c-AB_7.z:1") == "9f1c-AB_7.z:1"
    assert accept_request_id("x" * 128) == "x" * 128
    assert accept_request_id("x" * 129) != "x" * 129
    assert accept_request_id("a b") != "a b"


def test_a_success_carries_the_id_in_its_header_but_no_problem(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "ok-1"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "ok-1"
    assert "request_id" not in response.json()


def test_an_oversized_body_is_refused_with_the_request_id(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/login", content=b"x" * (2 * 1024 * 1024), headers={"X-Request-ID": "big-1"}
    )
    assert response.status_code == 413
    assert response.headers["X-Request-ID"] == "big-1"
    assert response.json()["request_id"] == "big-1"


def test_an_unexpected_error_logs_and_answers_the_same_id(app: Any, log_lines: io.StringIO) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "fault-7"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "fault-7"
    assert response.json()["request_id"] == "fault-7"
    written = lines(log_lines)
    [fault] = [line for line in written if line["message"] == "unhandled error"]
    assert fault["request_id"] == "fault-7"
    assert fault["level"] == "ERROR" and "kaboom" in fault["exception"]
    [access] = [line for line in written if line["logger"] == "medwaste.access"]
    assert (access["request_id"], access["status"], access["route"]) == ("fault-7", 500, "/boom")


def test_log_lines_outside_a_request_have_no_id(log_lines: io.StringIO) -> None:
    logging.getLogger("medwaste.test").warning("sweep: %d new", 3)
    [line] = lines(log_lines)
    assert line["request_id"] is None
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "medwaste.test",
        "sweep: 3 new",
    )
