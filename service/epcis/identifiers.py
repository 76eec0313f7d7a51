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
from dataclasses import dataclass

from sqlalchemy import and_, or_
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


def find_party(session: Session, namer: Namer, uri: str) -> Organization | None:
    canonical = canonical_gs1_uri(uri) or uri
    if canonical.startswith(_PARTY):
        return session.exec(
            select(Organization).where(Organization.gln == canonical[len(_PARTY) :])
        ).first()
    org_id = _uuid(namer.local_key(uri, "organization"))
    return session.get(Organization, org_id) if org_id else None


def find_site(session: Session, namer: Namer, uri: str) -> Site | None:
    canonical = canonical_gs1_uri(uri) or uri
    if canonical.startswith(_LOCATION):
        return session.exec(select(Site).where(Site.gln == canonical[len(_LOCATION) :])).first()
    site_id = _uuid(namer.local_key(uri, "site"))
    return session.get(Site, site_id) if site_id else None


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
    organization: Organization | None = None
    truncated: bool = False


def read_container_name(session: Session, namer: Namer, uri: str) -> ContainerName | None:
    """Parse an EPC we could have made (``None`` for anything else)."""
    canonical = canonical_gs1_uri(uri) or uri
    if canonical.startswith(_GIAI):
        value = canonical[len(_GIAI) :]
        orgs = session.exec(
            select(Organization).where(col(Organization.gs1_company_prefix).is_not(None))
        ).all()
        owners = [
            o for o in orgs if o.gs1_company_prefix and value.startswith(o.gs1_company_prefix)
        ]
        if not owners:
            return None
        owner = max(owners, key=lambda o: len(o.gs1_company_prefix or ""))
        reference = value[len(owner.gs1_company_prefix or "") :]
        if not reference:
            return None
        return ContainerName(reference, owner, truncated=len(value) == GIAI_LENGTH)
    key = namer.local_key(uri, "container")
    return ContainerName(key) if key else None


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


def find_container(session: Session, name: ContainerName) -> Container | None:
    """The container a parsed EPC names. A GIAI cut at 30 characters names the container whose
    id starts with what is left (looked up as an index range on the id)."""
    query = select(Container).where(Container.id == name.reference)
    if name.truncated:
        upper = _next_prefix(name.reference)
        if upper is not None:
            query = select(Container).where(
                or_(
                    col(Container.id) == name.reference,
                    and_(col(Container.id) >= name.reference, col(Container.id) < upper),
                )
            )
    if name.organization is not None:
        query = query.where(Container.origin_organization_id == name.organization.id)
    found = session.exec(query.limit(2)).all()
    return found[0] if len(found) == 1 else None
