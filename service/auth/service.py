"""Logging in and managing users."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from service.auth.models import User
from service.auth.passwords import hash_password, policy_problems, verify_password
from service.auth.roles import Role, role_fits
from service.errors import Conflict, InvalidInput, NotFound
from service.organizations.models import Organization, OrgKind


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None; the same work either way."""
    user = session.exec(select(User).where(User.username == username)).first()
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        return None
    return user


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: Role,
    organization_id: uuid.UUID | None,
    display_name: str | None = None,
) -> User:
    problems = policy_problems(password, username=username)
    if problems:
        raise InvalidInput(
            "the password is too weak: " + "; ".join(problems),
            errors=[{"field": "password", "message": p} for p in problems],
        )
    org = session.get(Organization, organization_id) if organization_id else None
    if organization_id is not None and org is None:
        raise NotFound(f"organization {organization_id} not found")
    if not role_fits(role, OrgKind(org.kind) if org else None):
        where = f"a {org.kind} organization" if org else "no organization"
        raise Conflict(f"role {role} does not fit {where}")
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        organization_id=organization_id,
    )
    session.add(user)
    session.flush()
    return user
