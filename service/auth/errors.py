"""Refusals of the identity service. The ones that must leave a record behind (a counted login
failure, a family killed for token reuse) commit before answering."""

from __future__ import annotations

from service.errors import Forbidden, TooManyRequests, Unauthorized


class LoginRefused(Unauthorized):
    """Wrong username or password, said the same way whether or not the user exists."""

    keep_changes = True


class LoginThrottled(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed logins; try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )


class RefreshRefused(Unauthorized):
    """A refresh token that is unknown, expired, retired or revoked (reuse kills the family,
    and that must stay done)."""

    keep_changes = True


class DeviceRevoked(Forbidden):
    code, title = "device-revoked", "Device revoked"
