"""The OpenAPI document as the server really answers: every error is a problem body
(``application/problem+json``, :class:`schemas.problems.Problem`), never FastAPI's default
validation schema, and each operation lists the problems it can answer with:

- 401 and 403 where a token is required (missing or expired; a role, device or organization
  that may not);
- 404 where the path names an object (or it is not visible to the caller);
- 409 on secured writes (a state that does not allow it, a duplicate);
- 413 on writes (a body over the limit), 422 where anything is read from the request;
- 429 on sign-in (too many failures from one address for one user name).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from schemas.problems import Problem
from service.errors import PROBLEM_JSON

WHY = {
    401: "No valid access token",
    403: "The caller's role, device or organization may not do this",
    404: "Not found, or not visible to the caller",
    409: "The current state does not allow it, or it already exists",
    413: "The request body is over the limit",
    422: "Invalid input: `errors` lists the fields at fault",
    429: "Too many failed sign-ins: wait `Retry-After` seconds",
}
WRITES = {"post", "put", "patch"}
SIGN_IN = "/api/v1/auth/token"


def problem_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The problem statuses an operation can answer with (see the module's docstring)."""
    secured = bool(operation.get("security"))
    reads_input = bool(operation.get("parameters") or operation.get("requestBody"))
    statuses = set()
    if secured:
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if secured and method in WRITES:
        statuses.add(409)
    if method in WRITES:
        statuses.add(413)
    if reads_input:
        statuses.add(422)
    if path == SIGN_IN:
        statuses.add(429)
    return sorted(statuses)


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``spec`` (FastAPI's document) in place: problem responses everywhere."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem.pop("$defs", {}).items():
        schemas[name] = definition
    schemas["Problem"] = problem
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in problem_statuses(path, method, operation):
                responses[str(status)] = {"description": WHY[status], "content": content}
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`document_problems`' version of the app's document (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
