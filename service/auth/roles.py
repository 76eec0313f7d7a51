"""Roles and which organization kinds they fit."""

from __future__ import annotations

from enum import StrEnum

from service.organizations.models import OrgKind


class Role(StrEnum):
    hospital_staff = "hospital_staff"
    driver = "driver"
    storage_operator = "storage_operator"
    disposal_operator = "disposal_operator"
    regulator = "regulator"
    admin = "admin"


ROLE_ORG_KINDS: dict[Role, frozenset[OrgKind]] = {
    Role.hospital_staff: frozenset({OrgKind.hospital}),
    Role.driver: frozenset({OrgKind.transporter}),
    # Disposal plants often run their own store; storage operators work at either.
    Role.storage_operator: frozenset({OrgKind.storage, OrgKind.disposal}),
    Role.disposal_operator: frozenset({OrgKind.disposal}),
    Role.regulator: frozenset({OrgKind.regulator}),
    Role.admin: frozenset(),  # system-wide, no organization
}


def role_fits(role: Role, kind: OrgKind | None) -> bool:
    """Whether a user of ``role`` may belong to an organization of ``kind`` (None: no org)."""
    if role is Role.admin:
        return kind is None
    return kind is not None and kind in ROLE_ORG_KINDS[role]
