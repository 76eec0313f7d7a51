"""Every route of the OpenAPI document, fuzzed by schemathesis with a fixed seed: whatever the
input, valid or not, the answer is never a server error (5xx). Bounded so that the whole run
stays well under a minute: a few examples per route, derandomized, so a failure reproduces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from service.app import create_app
from service.auth.roles import Role
from service.config import Settings
from service.db import make_engine, session_scope
from service.migrate import upgrade
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user

# Examples per route and mode (valid, invalid): 55 routes x 2 x 6, about 660 requests.
EXAMPLES = 6


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """The app on a database of its own (fuzzing commits whatever it is allowed to), running,
    and an administrator's token so that requests reach past authentication."""
    directory: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{directory / 'fuzz.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine, write=True) as session:
        org = make_org(session, OrgKind.hospital, jurisdiction="CN-15")
        make_site(session, org)
        admin = make_user(session, Role.admin).username
    app = create_app(
        Settings(data_dir=directory, sweep_interval_seconds=0, log_checkpoint_seconds=0),
        engine=engine,
    )
    with TestClient(app) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": admin, "password": PASSWORD}
        ).json()["access_token"]
        yield app, {"Authorization": f"Bearer {token}"}
    engine.dispose()


def _fuzz(operation: Any, headers: dict[str, str], mode: GenerationMode) -> str | None:
    """Run ``EXAMPLES`` cases of one operation; what failed, if anything."""

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the case
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    try:
        run()
    except Unsatisfiable:  # no invalid input can be written for it (a route without inputs)
        return None
    except Exception as exc:  # a server error, reported with its case
        return f"{operation.label} ({mode.value}): {exc}"
    return None


def test_no_route_answers_a_server_error(fuzzed: tuple[FastAPI, dict[str, str]]) -> None:
    app, headers = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50  # every route of the document, not a few
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := _fuzz(operation, headers, mode)) is not None
    ]
    assert not failures, "\n\n".join(failures)
