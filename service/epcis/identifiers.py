"""How things are named in EPCIS, and back.

Each name is a URI, as EPCIS 2.0 asks. Where the organization or site has a GS1 key, the name
is its canonical GS1 Digital Link, understood by every EPCIS system:

- a container of an organization with a GS1 company prefix: a GIAI (AI 8004), company prefix
  followed by the container id, cut to the GIAI's 30 characters (at least 18 characters of the
  id stay: 90 random bits, unique in practice);
- an organization with a GLN: ``https://id.gs1.org/417/{gln}`` (party);
- a site with a GLN: ``https://id.gs1.org/414/{gln}`` (location);
- a manifest whose origin has a GLN: ``urn:epcglobal:cbv:bt:{gln}:{number}`` (CBV business
  transaction id).

Otherwise it is an HTTP URI under the deployment's public address (``MEDWASTE_PUBLIC_BASE_URL``):
``{base}/id/container/{id}``, ``{base}/id/organization/{uuid}``, ``{base}/id/site/{uuid}``,
``{base}/id/manifest/{number}``. These are names, not links: they are meant to stay the same for
the life of the data, so the address should not change once events were exported (an event's
id is a hash over these names).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from service.custody.models import Container
from service.epcis.digital_link import CANONICAL, canonical_gs1_uri
from service.organizations.models import Organization, Site

GIAI_LENGTH = 30
_GIAI = CANONICAL + "/8004/"
_PARTY = CANONICAL + "/417/"
_LOCATION = CANONICAL + "/414/"
_BT = re.compile(r"^urn:epcglobal:cbv:bt:(\d{13}):(.+)$")
# Container ids this deployment makes: lowercase base32 (RFC 4648 alphabet).
_ID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Namer:
    """Names this deployment gives; ``base`` is its public address."""

    base: str

    def _local(self, kind: str, key: str) -> str:
        return f"{self.base.rstrip('/')}/id/{kind}/{key}"

    def container(self, container_id: str, origin: Organization | None) -> str:
        prefix = origin.gs1_company_prefix if origin is not None else None
        if prefix:
            return _GIAI + (prefix + container_id)[:GIAI_LENGTH]
        return self._local("container", container_id)

    def party(self, org: Organization) -> str:
        return _PARTY + org.gln if org.gln else self._local("organization", str(org.id))

    def location(self, site: Site) -> str:
        return _LOCATION + site.gln if site.gln else self._local("site", str(site.id))

    def manifest(self, number: str, origin: Organization | None) -> str:
        if origin is not None and origin.gln:
            return f"urn:epcglobal:cbv:bt:{origin.gln}:{number}"
        return self._local("manifest", number)

    def local_key(self, uri: str, kind: str) -> str | None:
        """The key in one of our own HTTP names of ``kind``, or ``None``."""
        head = self._local(kind, "")
        if uri.startswith(head):
            key = uri[len(head) :]
            return key if key and "/" not in key else None
        return None


# ---- back from names ------------------------------------------------------------------------


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def manifest_number(namer: Namer, uri: str) -> str | None:
    match = _BT.match(uri)
    if match:
        return match[2]
    return namer.local_key(uri, "manifest")


@dataclass(frozen=True)
class ContainerName:
    """What a container's EPC says: the container id (or the start of it) and, for a GIAI, the
    organization whose company prefix it carries."""

    reference: str
    organization_id: uuid.UUID | None = None
    truncated: bool = False


@dataclass(frozen=True)
class ContainerRef:
    """What capture and query need of a container: none of it changes after registration."""

    id: str
    origin_organization_id: uuid.UUID
    qr_payload: str | None


@dataclass(frozen=True)
class SiteRef:
    id: uuid.UUID
    organization_id: uuid.UUID


_CONTAINER_COLUMNS = (
    col(Container.id),
    col(Container.origin_organization_id),
    col(Container.qr_payload),
)
# Ids per IN (...) list when names are looked up in bulk.
_CHUNK = 500


def _next_prefix(reference: str) -> str | None:
    """The smallest id-alphabet string greater than every string starting with ``reference``."""
    chars = list(reference)
    while chars:
        position = _ID_ALPHABET.find(chars[-1])
        if position < 0:
            return None
        if position + 1 < len(_ID_ALPHABET):
            chars[-1] = _ID_ALPHABET[position + 1]
            return "".join(chars)
        chars.pop()
    return None


class Resolver:
    """Names read back into this deployment's rows, each name looked up once: one resolver
    serves one document (or one query), so a 10,000-event capture does not ask the database
    again for the site, the parties or the company prefixes of every event.

    Only what does not change while a document is read is kept: ids, a container's origin and
    label (containers' states are read by the scan itself, under its lock)."""

    def __init__(self, session: Session, namer: Namer) -> None:
        self.session = session
        self.namer = namer
        self._prefixes: list[tuple[str, uuid.UUID]] | None = None
        self._containers: dict[str, ContainerRef | None] = {}
        self._sites: dict[str, SiteRef | None] = {}
        self._site_rows: list[Site] = []
        self._parties: dict[str, uuid.UUID | None] = {}

    def _company_prefixes(self) -> list[tuple[str, uuid.UUID]]:
        if self._prefixes is None:
            rows = self.session.exec(
                select(Organization.gs1_company_prefix, Organization.id).where(
                    col(Organization.gs1_company_prefix).is_not(None)
                )
            ).all()
            # Longest first: the prefix an EPC carries is the longest one it starts with.
            self._prefixes = sorted(
                ((prefix, org_id) for prefix, org_id in rows if prefix),
                key=lambda row: -len(row[0]),
            )
        return self._prefixes

    def container_name(self, uri: str) -> ContainerName | None:
        """Parse an EPC we could have made (``None`` for anything else)."""
        canonical = canonical_gs1_uri(uri) or uri
        if canonical.startswith(_GIAI):
            value = canonical[len(_GIAI) :]
            for prefix, org_id in self._company_prefixes():
                if value.startswith(prefix):
                    reference = value[len(prefix) :]
                    if not reference:
                        return None
                    return ContainerName(reference, org_id, truncated=len(value) == GIAI_LENGTH)
            return None
        key = self.namer.local_key(uri, "container")
        return ContainerName(key) if key else None

    def load_containers(self, uris: Iterable[str]) -> None:
        """Look up the containers these EPCs name in a few queries (names cut short, which
        need a range lookup each, are left to :meth:`container`)."""
        wanted: set[str] = set()
        for uri in uris:
            name = self.container_name(uri)
            if name is not None and not name.truncated and name.reference not in self._containers:
                wanted.add(name.reference)
        ordered = sorted(wanted)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            found = {
                row[0]: ContainerRef(*row)
                for row in self.session.exec(
                    select(*_CONTAINER_COLUMNS).where(col(Container.id).in_(chunk))
                )
            }
            for reference in chunk:
                self._containers[reference] = found.get(reference)

    def registered(self, container: ContainerRef) -> None:
        """A container registered while the document is read (after its event was kept)."""
        self._containers[container.id] = container

    def container_by_id(self, container_id: str) -> ContainerRef | None:
        if container_id not in self._containers:
            row = self.session.exec(
                select(*_CONTAINER_COLUMNS).where(col(Container.id) == container_id)
            ).first()
            self._containers[container_id] = ContainerRef(*row) if row else None
        return self._containers[container_id]

    def container(self, name: ContainerName) -> ContainerRef | None:
        """The container a parsed EPC names. A GIAI cut at 30 characters names the container
        whose id starts with what is left (looked up as an index range on the id)."""
        if not name.truncated:
            found = self.container_by_id(name.reference)
            if found is None or name.organization_id not in (None, found.origin_organization_id):
                return None
            return found
        query = select(*_CONTAINER_COLUMNS).where(col(Container.id) == name.reference)
        upper = _next_prefix(name.reference)
        if upper is not None:
            query = select(*_CONTAINER_COLUMNS).where(
                or_(
                    col(Container.id) == name.reference,
                    and_(col(Container.id) >= name.reference, col(Container.id) < upper),
                )
            )
        if name.organization_id is not None:
            query = query.where(col(Container.origin_organization_id) == name.organization_id)
        rows = self.session.exec(query.limit(2)).all()
        return ContainerRef(*rows[0]) if len(rows) == 1 else None

    def site(self, uri: str) -> SiteRef | None:
        if uri not in self._sites:
            canonical = canonical_gs1_uri(uri) or uri
            where: ColumnElement[bool] | None
            if canonical.startswith(_LOCATION):
                where = col(Site.gln) == canonical[len(_LOCATION) :]
            else:
                site_id = _uuid(self.namer.local_key(uri, "site"))
                where = col(Site.id) == site_id if site_id else None
            site = (
                self.session.exec(select(Site).where(where)).first() if where is not None else None
            )
            if site is not None:
                # Held for the document's life: the scan's own site check then finds the row in
                # the session instead of reading it again for every event.
                self._site_rows.append(site)
            self._sites[uri] = SiteRef(site.id, site.organization_id) if site else None
        return self._sites[uri]

    def party(self, uri: str) -> uuid.UUID | None:
        """The id of the organization ``uri`` names."""
        if uri not in self._parties:
            canonical = canonical_gs1_uri(uri) or uri
            where: ColumnElement[bool] | None
            if canonical.startswith(_PARTY):
                where = col(Organization.gln) == canonical[len(_PARTY) :]
            else:
                org_id = _uuid(self.namer.local_key(uri, "organization"))
                where = col(Organization.id) == org_id if org_id else None
            self._parties[uri] = (
                self.session.exec(select(Organization.id).where(where)).first()
                if where is not None
                else None
            )
        return self._parties[uri]
