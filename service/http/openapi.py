"""The OpenAPI document as the server really answers: every error is a problem body
(``application/problem+json``, :class:`schemas.problems.Problem`), never FastAPI's default
validation schema, and each operation lists the problems it can answer with:

- 401 and 403 where a token is required (missing or expired; a role, device or organization
  that may not);
- 404 where the path names an object (or it is not visible to the caller);
- 409 on secured writes (a state that does not allow it, a duplicate);
- 413 on writes (a body over the limit), 422 where anything is read from the request;
- 429 on sign-in (too many failures from one address for one user name).

Every example keeps its nulls: FastAPI drops each null from the document it builds
(fastapi#5559), which would leave the examples of nullable required fields invalid, so
:func:`restore_examples` puts them back as the models and routes write them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi._compat import get_flat_models_from_fields, get_model_name_map
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.utils import get_fields_from_routes, get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue

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


class _AsWritten(GenerateJsonSchema):
    # Pydantic sorts a schema's keys, its examples' included; an example reads best with its
    # fields in the order the server sends them.
    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        return value


def _model_examples(model: type[BaseModel], mode: JsonSchemaMode) -> Any:
    return model.model_json_schema(mode=mode, schema_generator=_AsWritten).get("examples")


def restore_examples(spec: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Rewrite ``spec`` (FastAPI's document of ``app``) in place: each example as written, nulls
    included and fields in order: the components' (from their models, named as FastAPI names
    them) and the answers' (from the routes' ``responses``)."""
    fields = get_fields_from_routes(app.routes)
    models = get_model_name_map(get_flat_models_from_fields(fields, known_models=set()))
    components = spec.get("components", {}).get("schemas", {})
    for model, name in models.items():
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        modes: dict[str, JsonSchemaMode] = {
            name: "serialization",
            f"{name}-Output": "serialization",
            f"{name}-Input": "validation",
        }
        for key, mode in modes.items():
            if "examples" in components.get(key, {}):
                components[key]["examples"] = jsonable_encoder(_model_examples(model, mode))
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in context.methods or ():
            documented = spec["paths"][context.path_format][method.lower()]["responses"]
            for status, response in route.responses.items():
                for media, content in response.get("content", {}).items():
                    if "example" in content:
                        answer = documented[str(status)]["content"][media]
                        answer["example"] = jsonable_encoder(content["example"])
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve the app's document as :func:`document_problems` and :func:`restore_examples` make
    it (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document_problems(restore_examples(spec, app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
