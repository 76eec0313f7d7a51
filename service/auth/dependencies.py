"""Who is calling: the authenticated actor and the role guards routes declare."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from service.audit_context import note_who
from service.auth.actor import Actor
from service.auth.actors import ActorCache
from service.auth.guards import regulator_may_write
from service.auth.roles import Role
from service.auth.tokens import AccessClaims, InvalidToken, decode_access_token
from service.db import WRITE_METHODS
from service.deps import SessionDep
from service.errors import Forbidden, Unauthorized
from service.organizations.directory import attach

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/token")


async def access_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The caller's verified access token: signature, algorithm, issuer, audience, and expiry on
    the service clock. On the event loop (``async``): a token seen before costs a dictionary
    lookup, and a request without a valid one is refused before anything else is done for it."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer access token is required")
    state = request.app.state
    try:
        return decode_access_token(
            credentials.credentials, settings=state.settings, now=state.clock()
        )
    except InvalidToken:
        raise Unauthorized("the access token is invalid or expired") from None


Claims = Annotated[AccessClaims, Depends(access_claims)]


def current_actor(request: Request, session: SessionDep, claims: Claims) -> Actor:
    """The authenticated caller (:func:`actor_for`), as a route dependency."""
    return actor_for(request, session, claims)


def actor_for(
    request: Request, session: Session, claims: AccessClaims, *, epoch: int | None = None
) -> Actor:
    """The caller whose token ``claims`` verified, checked on every request: an active user
    (deactivation works at once), a device that was not revoked. Regulators are refused write
    routes other than those in :mod:`service.auth.guards`.

    The user and device checks are remembered per process for one directory epoch (one
    primary-key read per request, which also attaches the in-memory directory of organizations
    and sites to the request's transaction): any change to a user, an organization or a
    revoked device, in any process, bumps the epoch, so the next request looks again.

    A route that runs its whole work in one thread (:func:`service.deps.in_write_transaction`)
    calls this itself, in that work's transaction, with :data:`Claims` as its dependency;
    ``epoch`` is the directory epoch when the route read it already in that transaction."""
    state = request.app.state
    epoch = attach(session, state.directory, epoch)
    actors: ActorCache = state.actors
    actor = actors.resolve(session, epoch=epoch, user_id=claims.user_id, device_id=claims.device_id)
    note_who(
        request.scope,
        user_id=actor.user_id,
        username=actor.username,
        organization_id=actor.organization_id,
        device_id=actor.device_id,
    )
    if actor.is_regulator and request.method in WRITE_METHODS:
        route = request.scope.get("route")
        if not regulator_may_write(getattr(route, "path", None)):
            raise Forbidden("regulators have read-only access here")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require_role(*roles: Role) -> Callable[[Actor], Actor]:
    allowed = frozenset(roles)

    def check(actor: CurrentActor) -> Actor:
        if actor.role not in allowed:
            raise Forbidden(f"this needs one of the roles: {', '.join(sorted(allowed))}")
        return actor

    return check


AdminActor = Annotated[Actor, Depends(require_role(Role.admin))]
RegulatorOrAdmin = Annotated[Actor, Depends(require_role(Role.regulator, Role.admin))]
