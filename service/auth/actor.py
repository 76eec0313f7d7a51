"""Who is acting: the authenticated user with what scoping needs, as a plain value."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.auth.roles import Role
from service.organizations.models import OrgKind


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    username: str
    role: Role
    organization_id: uuid.UUID | None
    organization_kind: OrgKind | None
    jurisdiction: str | None
    device_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def is_regulator(self) -> bool:
        return self.role is Role.regulator
