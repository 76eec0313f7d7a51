"""Shared pieces of the request and response models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, field_validator

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


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


# A label's QR payload as the documentation's examples show it (SPEC §5: MW1.id.key.signature).
EXAMPLE_LABEL = (
    "MW1.K7QX4ZT2M9PA3WBD.k1."
    "q0pXb8Vd2o8yVYkZbZ2Qp9Jc1vB0fF3xW6e7nR5tL4sM8aD2cH1gK0jI9uY3wE6rT5yU8iO7pQ2kVb-Hs9Lx_A"
)


def example(body: dict[str, Any]) -> ConfigDict:
    """A request body's example, shown in the API documentation (a test validates each one
    against its schema)."""
    return ConfigDict(json_schema_extra={"examples": [body]})
