"""A synthetic region for benchmarks: hospitals with sites, a transporter, a disposal plant,
a regulator and users for each role, written through the service's own functions.

Reusable by any bench script::

    with session_scope(engine, write=True) as session:
        region = build_region(session=session, hospitals=4, users_per_role=4)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from schemas.organizations import OrganizationCreate, SiteCreate
from service.anomalies.profile import SHIPPED
from service.auth.roles import Role
from service.auth.service import create_user
from service.organizations.models import OrgKind
from service.organizations.service import add_site, create_organization

# One shared password: argon2 runs once per login, which the benchmarks leave out of timing.
PASSWORD = "bench-Passw0rd-long"
CATEGORIES = ["infectious", "sharps", "pathological", "pharmaceutical", "chemical"]
# Around Hohhot (CN-15).
CENTRE = (40.8426, 111.7490)


@dataclass(frozen=True)
class Place:
    """An organization, its one site and the usernames of its users."""

    organization_id: uuid.UUID
    site_id: uuid.UUID
    latitude: float
    longitude: float
    users: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Region:
    hospitals: list[Place]
    transporter: Place
    plant: Place
    regulators: list[str]
    admin: str
    password: str = PASSWORD


def build_region(
    *,
    session: Session,
    hospitals: int = 4,
    users_per_role: int = 4,
    jurisdiction: str = "CN-15",
    tag: str | None = None,
) -> Region:
    """Create the region in ``session`` (flushed, not committed: the caller's unit of work
    commits). ``tag`` keeps usernames unique when several regions share a database."""
    tag = tag or uuid.uuid4().hex[:6]

    def place(kind: OrgKind, name: str, role: Role, index: int) -> Place:
        offset = 0.01 * index
        licensed = kind is not OrgKind.hospital
        org = create_organization(
            session=session,
            request=OrganizationCreate(
                name=name,
                kind=kind,
                jurisdiction=jurisdiction,
                license_number=f"LIC-{tag}-{name[:12]}" if licensed else None,
                license_expires=date(2035, 1, 1) if licensed else None,
                licensed_categories=list(CATEGORIES) if licensed else [],  # type: ignore[arg-type]
            ),
            profile_exists=SHIPPED.exists,
        )
        latitude, longitude = CENTRE[0] + offset, CENTRE[1] + offset
        site = add_site(
            session=session,
            organization_id=org.id,
            request=SiteCreate(
                name=f"{name} site", latitude=latitude, longitude=longitude, radius_m=500.0
            ),
        )
        users = [
            create_user(
                session=session,
                username=f"b{tag}-{role.value}-{index}-{n}",
                password=PASSWORD,
                role=role,
                organization_id=org.id,
            ).username
            for n in range(users_per_role)
        ]
        return Place(org.id, site.id, latitude, longitude, users)

    hospital_places = [
        place(OrgKind.hospital, f"Bench hospital {i}", Role.hospital_staff, i)
        for i in range(hospitals)
    ]
    transporter = place(OrgKind.transporter, "Bench transporter", Role.driver, -5)
    plant = place(OrgKind.disposal, "Bench disposal plant", Role.disposal_operator, -10)
    regulator = create_organization(
        session=session,
        request=OrganizationCreate(
            name="Bench regulator", kind=OrgKind.regulator, jurisdiction=jurisdiction
        ),
        profile_exists=SHIPPED.exists,
    )
    regulators = [
        create_user(
            session=session,
            username=f"b{tag}-regulator",
            password=PASSWORD,
            role=Role.regulator,
            organization_id=regulator.id,
        ).username
    ]
    admin = create_user(
        session=session,
        username=f"b{tag}-admin",
        password=PASSWORD,
        role=Role.admin,
        organization_id=None,
    ).username
    return Region(hospital_places, transporter, plant, regulators, admin)
