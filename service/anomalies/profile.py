"""Rule profiles: each rule's threshold, severity and legal source, as configuration.

Profiles are TOML files shipped in ``service/anomalies/profiles/`` (one per profile); a profile
may ``extends`` another and override some of its rules. ``jurisdictions.toml`` maps
jurisdictions to profiles (exact code first, then the country prefix ``CN-*``); anything not
listed uses ``Settings.default_profile``. A deployment adds or replaces profiles, and adds
jurisdiction entries, with files of the same names in ``MEDWASTE_PROFILES_DIR``. An
organization may name its own profile (``Organization.anomaly_profile``). An organization in
epidemic mode, or a container flagged epidemic, uses the profile's ``epidemic_profile``
(cn-national → cn-epidemic).

Which profile applies is decided in one place, :class:`Profiles`: built once at start-up from
the settings (every profile read and checked there, so that a broken file stops the start, not
a scan) and held by the app, like the key ring; the scan, the sweep, the reports and the
organizations' checks are handed it.
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
from typing import Any, Protocol

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


def _read(name: str, local_dir: Path | None) -> dict[str, Any]:
    if not PROFILE_NAME.fullmatch(name):
        raise UnknownProfile(f"no anomaly profile named {name!r}")
    if local_dir is not None and (local_dir / f"{name}.toml").is_file():
        text = (local_dir / f"{name}.toml").read_text(encoding="utf-8")
    else:
        path = resources.files(PROFILE_PACKAGE).joinpath(f"{name}.toml")
        if not path.is_file():
            raise UnknownProfile(f"no anomaly profile named {name!r}")
        text = path.read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    return data


def _merged(name: str, local_dir: Path | None, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in seen:
        raise UnknownProfile(f"profile {name!r} extends itself")
    data = _read(name, local_dir)
    parent = data.get("extends")
    if not parent:
        return data
    base = _merged(str(parent), local_dir, (*seen, name))
    rules = {kind: dict(values) for kind, values in base.get("rules", {}).items()}
    for kind, values in data.get("rules", {}).items():
        rules[kind] = {**rules.get(kind, {}), **values}
    return {**base, **{k: v for k, v in data.items() if k != "rules"}, "rules": rules}


@cache
def load_profile(name: str, local_dir: Path | None = None) -> Profile:
    """The profile ``name`` with what it extends merged in, from ``local_dir`` (a deployment's
    own files) before the shipped ones (cached: profiles are static)."""
    data = _merged(name, local_dir)
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
def jurisdiction_map(local_dir: Path | None = None) -> dict[str, str]:
    """Jurisdiction -> profile: the shipped map, with the deployment's own entries over it."""
    texts = [resources.files(PROFILE_PACKAGE).joinpath("jurisdictions.toml").read_text("utf-8")]
    if local_dir is not None and (local_dir / "jurisdictions.toml").is_file():
        texts.append((local_dir / "jurisdictions.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = {}
    for text in texts:
        mapping.update({str(k): str(v) for k, v in tomllib.loads(text).get("profiles", {}).items()})
    return mapping


class ProfiledOrganization(Protocol):
    """What decides an organization's profile (an Organization row, or the sweep's copy)."""

    @property
    def jurisdiction(self) -> str: ...
    @property
    def epidemic_mode(self) -> bool: ...
    @property
    def anomaly_profile(self) -> str | None: ...


@dataclass(frozen=True)
class Profiles:
    """The rule profiles of a deployment: the shipped ones with its own files (``local_dir``,
    ``MEDWASTE_PROFILES_DIR``) over them, the jurisdiction map, and the profile of the
    jurisdictions the map does not name (``default``)."""

    default: str = DEFAULT_PROFILE
    local_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Profiles:
        """The deployment's profiles, every one read and checked now."""
        profiles = cls(default=settings.default_profile, local_dir=settings.profiles_dir)
        profiles.load(profiles.default)
        profiles.all()
        return profiles

    def load(self, name: str) -> Profile:
        return load_profile(name, self.local_dir)

    def exists(self, name: str) -> bool:
        """Whether a profile of that name is configured (shipped or the deployment's own)."""
        try:
            self.load(name)
        except UnknownProfile:
            return False
        return True

    def name_for(self, jurisdiction: str | None) -> str:
        """The profile a jurisdiction uses: exact code, then ``XX-*``, then the default."""
        mapping = jurisdiction_map(self.local_dir)
        if jurisdiction:
            if jurisdiction in mapping:
                return mapping[jurisdiction]
            country = jurisdiction.split("-", 1)[0]
            if f"{country}-*" in mapping:
                return mapping[f"{country}-*"]
        return self.default

    def for_jurisdiction(
        self, jurisdiction: str | None, *, epidemic: bool = False, own: str | None = None
    ) -> Profile:
        """The profile that applies: an organization's ``own`` profile if it has one, else its
        jurisdiction's; the epidemic variant of either when ``epidemic``."""
        profile = self.load(own or self.name_for(jurisdiction))
        if epidemic and profile.epidemic_profile:
            return self.load(profile.epidemic_profile)
        return profile

    def of(self, org: ProfiledOrganization | None, *, epidemic: bool = False) -> Profile:
        """The profile that judges what happens at ``org``: its own, else its jurisdiction's;
        the epidemic variant for epidemic waste or an organization in epidemic mode. The scan,
        the sweep and the reports all judge by this."""
        return self.for_jurisdiction(
            org.jurisdiction if org else None,
            epidemic=epidemic or bool(org and org.epidemic_mode),
            own=org.anomaly_profile if org else None,
        )

    def all(self) -> list[Profile]:
        files = [p.name for p in resources.files(PROFILE_PACKAGE).iterdir()]
        if self.local_dir is not None and self.local_dir.is_dir():
            files += [p.name for p in self.local_dir.iterdir()]
        names = sorted(
            {
                f.removesuffix(".toml")
                for f in files
                if f.endswith(".toml") and f != "jurisdictions.toml"
            }
        )
        return [self.load(n) for n in names]


# The shipped profiles, cn-national where no jurisdiction says otherwise: what tests and
# benchmarks judge by (the service is always handed the deployment's).
SHIPPED = Profiles()
