"""What every detection trigger (an accepted scan, a refused scan, a manifest receipt) shares:
whose profile judges, and the small conversions facts need."""

from __future__ import annotations

from typing import Any, Protocol

from service.anomalies.profile import Profile, profile_for
from service.config import get_settings


class ProfiledOrganization(Protocol):
    """What decides an organization's profile (an Organization row, or the sweep's copy)."""

    @property
    def jurisdiction(self) -> str: ...
    @property
    def epidemic_mode(self) -> bool: ...
    @property
    def anomaly_profile(self) -> str | None: ...


def org_profile(
    org: ProfiledOrganization | None, *, epidemic: bool = False, default: str | None = None
) -> Profile:
    """The profile that judges what happens at ``org``: its own, else its jurisdiction's (or
    ``default``, the deployment's); the epidemic variant for epidemic waste or an organization
    in epidemic mode. The scan, the sweep and the reports all judge by this."""
    return profile_for(
        org.jurisdiction if org else None,
        epidemic=epidemic or bool(org and org.epidemic_mode),
        default=default or get_settings().default_profile,
        own=org.anomaly_profile if org else None,
    )


def as_str(value: Any) -> str | None:
    return None if value is None else str(value)
