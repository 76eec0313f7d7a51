"""Who is acting: the authenticated user with what scoping needs, as a plain value."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.auth.roles import Role
from service.organizations.models import Organization, OrgKind

if TYPE_CHECKING:
    from service.auth.models import User


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    username: str
    role: Role
    organization_id: uuid.UUID | None
    organization_kind: OrgKind | None
    jurisdiction: str | None
    device_id: str | None = None

    @classmethod
    def of(
        cls, user: User, organization: Organization | None, *, device_id: str | None = None
    ) -> Actor:
        """The actor a signed-in ``user`` of ``organization`` is."""
        return cls(
            user_id=user.id,
            username=user.username,
            role=Role(user.role),
            organization_id=user.organization_id,
            organization_kind=OrgKind(organization.kind) if organization else None,
            jurisdiction=organization.jurisdiction if organization else None,
            device_id=device_id,
        )

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def is_regulator(self) -> bool:
        return self.role is Role.regulator
