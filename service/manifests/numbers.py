"""Manifest numbers, handed out without collisions under concurrency.

Chinese jurisdictions use the 14-digit number of 危险废物转移管理办法 (2021) Art. 15:
year (4) + province (2) + city (2) + serial (6). Organizations carry a province-level
jurisdiction only, so the city part is ``00`` (the province-level office). Elsewhere the number
reads ``{jurisdiction}-{year}-{serial:06d}``, e.g. ``US-TX-2026-000042``.

Serials come from a counter row per (jurisdiction, year), incremented with one
``UPDATE ... RETURNING`` statement: on PostgreSQL the row lock makes concurrent creators queue;
SQLite serializes writers anyway. Never ``count() + 1``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from service.errors import Conflict
from service.jurisdictions import CHINA_TIME, is_chinese, province_code
from service.manifests.models import ManifestSerial

MAX_SERIAL = 999_999
UNKNOWN_CITY = "00"


class SerialsExhausted(Conflict):
    code, title = "manifest-serials-exhausted", "No manifest numbers left"


def serial_scope(jurisdiction: str, year: int) -> str:
    if is_chinese(jurisdiction):
        return f"{year}{province_code(jurisdiction)}{UNKNOWN_CITY}"
    return f"{jurisdiction}:{year}"


def format_number(jurisdiction: str, year: int, serial: int) -> str:
    if is_chinese(jurisdiction):
        return f"{year:04d}{province_code(jurisdiction)}{UNKNOWN_CITY}{serial:06d}"
    return f"{jurisdiction}-{year:04d}-{serial:06d}"


def next_number(*, session: Session, jurisdiction: str, now: datetime) -> str:
    """The next manifest number of ``jurisdiction`` for the year of ``now``."""
    local = now.astimezone(CHINA_TIME) if is_chinese(jurisdiction) else now
    scope = serial_scope(jurisdiction, local.year)
    serial = _increment(session, scope)
    if serial > MAX_SERIAL:
        raise SerialsExhausted(f"all {MAX_SERIAL} manifest numbers of {scope} are used")
    return format_number(jurisdiction, local.year, serial)


def _increment(session: Session, scope: str) -> int:
    table: Table = ManifestSerial.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(table)
        .values(scope=scope, last_serial=0)
        .on_conflict_do_nothing(index_elements=["scope"])
    )
    statement = (
        update(table)
        .where(table.c.scope == scope)
        .values(last_serial=table.c.last_serial + 1)
        .returning(table.c.last_serial)
    )
    return int(session.execute(statement).scalar_one())
