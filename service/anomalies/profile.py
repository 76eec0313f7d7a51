"""Rule profiles: each rule's threshold, severity and legal source, as configuration.

Profiles are TOML files shipped in ``service/anomalies/profiles/`` (one per profile); a profile
may ``extends`` another and override some of its rules. ``jurisdictions.toml`` maps
jurisdictions to profiles (exact code first, then the country prefix ``CN-*``); anything not
listed uses ``Settings.default_profile``. A deployment adds or replaces profiles, and adds
jurisdiction entries, with files of the same names in ``MEDWASTE_PROFILES_DIR``. An
organization may name its own profile (``Organization.anomaly_profile``). An organization in
epidemic mode, or a container flagged epidemic, uses the profile's ``epidemic_profile``
(cn-national → cn-epidemic).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from service.anomalies.models import Severity
from service.anomalies.working_days import Calendar

PROFILE_PACKAGE = "service.anomalies.profiles"
PROFILE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,40}")
DEFAULT_PROFILE = "cn-national"


class UnknownProfile(ValueError):
    """A profile name with no profile file."""


@dataclass(frozen=True)
class RuleSetting:
    """One rule's configuration in a profile."""

    kind: str
    severity: Severity
    source: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def number(self, key: str, default: float | None = None) -> float | None:
        value = self.values.get(key, default)
        return None if value is None else float(value)

    def hours(self, key: str = "limit_hours") -> timedelta | None:
        value = self.number(key)
        return None if value is None else timedelta(hours=value)


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    epidemic_profile: str | None
    rules: Mapping[str, RuleSetting]

    def rule(self, kind: str) -> RuleSetting:
        return self.rules[kind]


def _local_dir() -> Path | None:
    """The deployment's own profiles (``MEDWASTE_PROFILES_DIR``), read before the shipped ones."""
    from service.config import get_settings

    return get_settings().profiles_dir


def _read(name: str) -> dict[str, Any]:
    if not PROFILE_NAME.fullmatch(name):
        raise UnknownProfile(f"no anomaly profile named {name!r}")
    local = _local_dir()
    if local is not None and (local / f"{name}.toml").is_file():
        text = (local / f"{name}.toml").read_text(encoding="utf-8")
    else:
        path = resources.files(PROFILE_PACKAGE).joinpath(f"{name}.toml")
        if not path.is_file():
            raise UnknownProfile(f"no anomaly profile named {name!r}")
        text = path.read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    return data


def _merged(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in seen:
        raise UnknownProfile(f"profile {name!r} extends itself")
    data = _read(name)
    parent = data.get("extends")
    if not parent:
        return data
    base = _merged(str(parent), (*seen, name))
    rules = {kind: dict(values) for kind, values in base.get("rules", {}).items()}
    for kind, values in data.get("rules", {}).items():
        rules[kind] = {**rules.get(kind, {}), **values}
    return {**base, **{k: v for k, v in data.items() if k != "rules"}, "rules": rules}


@cache
def load_profile(name: str) -> Profile:
    """The profile ``name`` with what it extends merged in (cached: profiles are static)."""
    data = _merged(name)
    rules = {
        kind: RuleSetting(
            kind=kind,
            severity=Severity(values.get("severity", Severity.warning)),
            source=str(values.get("source", "")),
            values={k: v for k, v in values.items() if k not in ("severity", "source")},
        )
        for kind, values in data.get("rules", {}).items()
    }
    for rule in rules.values():
        # A calendar nobody knows stops the profile's loading, not a sweep later.
        Calendar(rule.values.get("working_days_calendar", Calendar.weekdays))
    return Profile(
        name=str(data.get("name", name)),
        title=str(data.get("title", name)),
        epidemic_profile=str(data["epidemic_profile"]) if data.get("epidemic_profile") else None,
        rules=rules,
    )


@cache
def jurisdiction_map() -> dict[str, str]:
    """Jurisdiction -> profile: the shipped map, with the deployment's own entries over it."""
    texts = [resources.files(PROFILE_PACKAGE).joinpath("jurisdictions.toml").read_text("utf-8")]
    local = _local_dir()
    if local is not None and (local / "jurisdictions.toml").is_file():
        texts.append((local / "jurisdictions.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = {}
    for text in texts:
        mapping.update({str(k): str(v) for k, v in tomllib.loads(text).get("profiles", {}).items()})
    return mapping


def profile_name_for(
    jurisdiction: str | None,
    *,
    default: str = DEFAULT_PROFILE,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The profile a jurisdiction uses: exact code, then ``XX-*``, then ``default``."""
    mapping = {**jurisdiction_map(), **(overrides or {})}
    if jurisdiction:
        if jurisdiction in mapping:
            return mapping[jurisdiction]
        country = jurisdiction.split("-", 1)[0]
        if f"{country}-*" in mapping:
            return mapping[f"{country}-*"]
    return default


def profile_for(
    jurisdiction: str | None,
    *,
    epidemic: bool = False,
    default: str = DEFAULT_PROFILE,
    own: str | None = None,
) -> Profile:
    """The profile that applies: an organization's ``own`` profile if it has one, else its
    jurisdiction's; the epidemic variant of either when ``epidemic``."""
    profile = load_profile(own or profile_name_for(jurisdiction, default=default))
    if epidemic and profile.epidemic_profile:
        return load_profile(profile.epidemic_profile)
    return profile


def all_profiles() -> list[Profile]:
    files = [p.name for p in resources.files(PROFILE_PACKAGE).iterdir()]
    local = _local_dir()
    if local is not None and local.is_dir():
        files += [p.name for p in local.iterdir()]
    names = sorted(
        {
            f.removesuffix(".toml")
            for f in files
            if f.endswith(".toml") and f != "jurisdictions.toml"
        }
    )
    return [load_profile(n) for n in names]


def profile_exists(name: str) -> bool:
    """Whether a profile of that name is configured (shipped or the deployment's own)."""
    try:
        load_profile(name)
    except UnknownProfile:
        return False
    return True
