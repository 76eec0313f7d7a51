"""Who a token's holder is, remembered between requests for as long as it cannot have changed.

An access token names a user (and, for a phone's session, a device). Turning it into an
:class:`Actor` costs a user-and-organization lookup and a revoked-device lookup; the answer
changes only when a user, an organization or a revoked device changes, and each such change
bumps the directory epoch (:mod:`service.organizations.directory`). So the actor is kept per
(user, device) for one epoch: deactivating a user or revoking a phone in any process makes the
next request, in every process, look them up again and be refused.
"""

from __future__ import annotations

import threading
import uuid

from sqlmodel import Session, col, select

from service.auth.actor import Actor
from service.auth.models import RevokedDevice, User
from service.errors import Unauthorized
from service.organizations.models import Organization


class ActorCache:
    """Actors by (user id, device id), valid for one directory epoch. Only actors that passed
    every check are kept: a refused token is looked up again each time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._actors: dict[tuple[uuid.UUID, str | None], Actor] = {}

    def resolve(
        self, session: Session, *, epoch: int, user_id: uuid.UUID, device_id: str | None
    ) -> Actor:
        key = (user_id, device_id)
        with self._lock:
            if epoch != self._epoch:
                self._actors = {}
                self._epoch = epoch
            known = self._actors.get(key)
        if known is not None:
            return known
        actor = lookup_actor(session, user_id=user_id, device_id=device_id)
        with self._lock:
            if epoch == self._epoch:
                self._actors[key] = actor
        return actor


def lookup_actor(session: Session, *, user_id: uuid.UUID, device_id: str | None) -> Actor:
    """The actor from the database: an active user, a device that was not revoked."""
    found = session.exec(
        select(User, Organization)
        .join(Organization, col(User.organization_id) == col(Organization.id), isouter=True)
        .where(User.id == user_id)
    ).first()
    user, org = found if found is not None else (None, None)
    if user is None or not user.is_active:
        raise Unauthorized("the user is unknown or deactivated")
    if device_id is not None and session.get(RevokedDevice, device_id) is not None:
        raise Unauthorized("this device has been revoked")
    return Actor.of(user, org, device_id=device_id)
