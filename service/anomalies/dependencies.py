"""The anomaly domain's request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.anomalies.profile import Profiles


async def get_profiles(request: Request) -> Profiles:
    """The deployment's anomaly profiles, read when the application was made (``async``: a
    read of the application's state needs no trip through the thread pool)."""
    profiles: Profiles = request.app.state.profiles
    return profiles


ProfilesDep = Annotated[Profiles, Depends(get_profiles)]
