"""Shared pieces of the request and response models."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, field_validator

from schemas.examples import CURSOR

T = TypeVar("T")

# The times this service accepts from outside. Python datetimes stop at years 1 and 9999, so
# "0001-01-01T00:00:00+14:00" cannot even be converted to UTC, and date arithmetic near either
# end overflows; nothing in custody records is older than the Unix epoch.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range (1970 to 9000, with an offset)") from None
    if not EARLIEST_INSTANT <= utc < LATEST_INSTANT:
        raise ValueError("the time is out of range (1970 to 9000, with an offset)")
    return utc


# An RFC 3339 time with an offset, between 1970 and 9000, converted to UTC.
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]


def instant_or_none(value: object) -> datetime | None:
    """``value`` as an :data:`Instant` if it is an ISO 8601 string of one, else None (for
    values read back from cursors a client may have crafted)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        return _in_range(parsed)
    except ValueError:
        return None


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL cannot store a NUL character in text; nobody types one.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not contain a NUL character")
        return value


def example(body: dict[str, Any], **config: Any) -> ConfigDict:
    """A model's example (a request body or an answer), shown in the API documentation (a test
    validates each one against its schema); ``config``: the model's other settings."""
    settings = ConfigDict(json_schema_extra={"examples": [body]})
    settings.update(config)  # type: ignore[typeddict-item]
    return settings


def _examples(model: type[BaseModel]) -> list[Any]:
    extra = model.model_config.get("json_schema_extra")
    found = extra.get("examples") if isinstance(extra, dict) else None
    return found if isinstance(found, list) else []


def example_of(model: type[BaseModel]) -> dict[str, Any]:
    """A copy of the example ``model`` was given with :func:`example`, to build others from."""
    found = _examples(model)
    if not found:
        raise TypeError(f"{model.__name__} has no example")
    body: dict[str, Any] = copy.deepcopy(found[0])
    return body


def _page_example(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    # Each Page[X] is a class of its own: its example is a page of X's example.
    args = cls.__pydantic_generic_metadata__["args"]
    item = args[0] if args else None
    if isinstance(item, type) and issubclass(item, BaseModel) and _examples(item):
        schema["examples"] = [{"items": [example_of(item)], "next_cursor": CURSOR}]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_example)

    items: list[T]
    next_cursor: str | None
