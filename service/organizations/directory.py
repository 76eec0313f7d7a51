"""Organizations and sites as every scan reads them, remembered between requests.

A scan looks up the scanner's organization, the container's origin and holder, the site it
names and the sites of an organization (the geofence). These rows change rarely, and a cached
copy must never be stale: a licence that was just withdrawn must count at the next scan.

So the database keeps one counter, the *directory epoch* (table ``directory_epoch``), which its
own triggers bump on every insert, update or delete of an organization, a site, a user or a
revoked device, whoever makes the change (any server process, a script, a console). A request
reads the epoch once, at the start of its transaction (a scan, with its container); while it is
the one this process has seen, what the process remembers is what the database holds. The auth
dependency attaches the request's :class:`DirectoryView` to its session; code without one (the
sweep, the command line, services called directly) reads the database every time, as before.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, Column, Integer
from sqlalchemy import select as core_select
from sqlmodel import Field, Session, SQLModel, col, select

from service.organizations.models import Organization, Site

_KEY = "medwaste_directory"


class DirectoryEpoch(SQLModel, table=True):
    """One row: bumped by triggers whenever an organization, site, user or revoked device
    changes (migration ``directory_epoch``)."""

    __tablename__ = "directory_epoch"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


_EPOCH = core_select(col(DirectoryEpoch.value)).where(col(DirectoryEpoch.id) == 1)
# The epoch as a column of another query (a scan reads it with its container).
EPOCH_COLUMN = _EPOCH.scalar_subquery().label("directory_epoch")


def read_epoch(session: Session) -> int:
    # On the transaction's connection: every request reads it, and the ORM's statement
    # handling costs more than the read.
    value = session.connection().execute(_EPOCH).scalar_one()
    return int(value)


def _copy(row: Any, model: type[Any]) -> Any:
    """A transient copy of a loaded row, attached to no session (read only)."""
    return model(**dict(row._mapping))


class Directory:
    """What this process remembers of organizations and sites, valid for one epoch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._organizations: dict[uuid.UUID, Organization | None] = {}
        self._sites: dict[uuid.UUID, Site | None] = {}
        self._sites_of: dict[uuid.UUID, list[Site]] = {}

    def view(self, session: Session, epoch: int) -> DirectoryView:
        with self._lock:
            if epoch != self._epoch:
                self._organizations, self._sites, self._sites_of = {}, {}, {}
                self._epoch = epoch
        return DirectoryView(session, self, epoch)

    def _store(self, epoch: int, table: dict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            if epoch == self._epoch:
                table[key] = value


class DirectoryView:
    """Lookups for one transaction: from memory when the directory is attached, else from the
    database."""

    def __init__(self, session: Session, memory: Directory | None, epoch: int | None) -> None:
        self._session, self._memory, self._epoch = session, memory, epoch

    def organization(self, organization_id: uuid.UUID | None) -> Organization | None:
        if organization_id is None:
            return None
        memory, epoch = self._memory, self._epoch
        if memory is None or epoch is None:
            return self._session.get(Organization, organization_id)
        if organization_id in memory._organizations:
            return memory._organizations[organization_id]
        found = self._session.execute(
            core_select(Organization.__table__).where(col(Organization.id) == organization_id)  # type: ignore[attr-defined]
        ).first()
        org = _copy(found, Organization) if found is not None else None
        memory._store(epoch, memory._organizations, organization_id, org)
        return org

    def organizations(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Organization]:
        out: dict[uuid.UUID, Organization] = {}
        for organization_id in dict.fromkeys(i for i in ids if i is not None):
            org = self.organization(organization_id)
            if org is not None:
                out[organization_id] = org
        return out

    def site(self, site_id: uuid.UUID | None) -> Site | None:
        if site_id is None:
            return None
        memory, epoch = self._memory, self._epoch
        if memory is None or epoch is None:
            return self._session.get(Site, site_id)
        if site_id in memory._sites:
            return memory._sites[site_id]
        found = self._session.execute(
            core_select(Site.__table__).where(col(Site.id) == site_id)  # type: ignore[attr-defined]
        ).first()
        site = _copy(found, Site) if found is not None else None
        memory._store(epoch, memory._sites, site_id, site)
        return site

    def sites_of(self, organization_id: uuid.UUID) -> list[Site]:
        memory, epoch = self._memory, self._epoch
        if memory is None or epoch is None:
            return list(
                self._session.exec(select(Site).where(col(Site.organization_id) == organization_id))
            )
        if organization_id in memory._sites_of:
            return memory._sites_of[organization_id]
        rows = self._session.execute(
            core_select(Site.__table__).where(col(Site.organization_id) == organization_id)  # type: ignore[attr-defined]
        ).all()
        sites = [_copy(row, Site) for row in rows]
        memory._store(epoch, memory._sites_of, organization_id, sites)
        return sites


def attach(session: Session, memory: Directory, epoch: int | None = None) -> int:
    """Read the epoch in the session's transaction (unless ``epoch`` was read in it already,
    with :data:`EPOCH_COLUMN`) and attach the process's directory to it for the rest of that
    transaction. Returns the epoch."""
    if epoch is None:
        epoch = read_epoch(session)
    session.info[_KEY] = (memory.view(session, epoch), session.get_transaction())
    return epoch


def directory(session: Session) -> DirectoryView:
    """The directory attached to the session's current transaction, or one that reads the
    database every time."""
    attached = session.info.get(_KEY)
    if attached is not None and attached[1] is session.get_transaction():
        view: DirectoryView = attached[0]
        return view
    return DirectoryView(session, None, None)
