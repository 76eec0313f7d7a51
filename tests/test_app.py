"""What every client meets first: health, errors as RFC 7807, the API description."""

from __future__ import annotations

import gc

from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.config import Settings


def test_health_names_the_database(client: TestClient, settings: Settings) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] in ("sqlite", "postgresql")


def test_unknown_path_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
    assert set(response.json()) >= {"type", "title", "status", "detail"}


def test_wrong_method_is_a_problem(client: TestClient) -> None:
    response = client.delete("/health")
    assert response.status_code == 405
    assert response.json()["type"].endswith("/method-not-allowed")


def test_missing_token_is_401_problem(client: TestClient) -> None:
    response = client.get("/api/v1/containers")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"].endswith("/unauthorized")


def test_openapi_and_docs(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/scans" in paths
    assert client.get("/docs").status_code == 200


def test_a_running_server_keeps_what_it_started_with_out_of_the_collector(app: FastAPI) -> None:
    # The cyclic collector's full passes would walk the framework's objects again and again.
    gc.unfreeze()
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() > 10_000
    # Given back when the server stops (a test process starts many).
    assert gc.get_freeze_count() == 0
