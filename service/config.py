"""Settings: one class, read from environment variables prefixed ``MEDWASTE_``."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    production = "production"


class MissingSecret(RuntimeError):
    """Production mode was asked to start without an explicit secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDWASTE_", extra="ignore")
    # The development secret, read from its file once (every request's token is checked
    # with it).
    _generated_jwt_key: str | None = PrivateAttr(default=None)

    env: Environment = Environment.development
    data_dir: Path = Path("./data")
    # DATABASE_URL (no prefix) is the conventional name; MEDWASTE_DATABASE_URL works too.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("MEDWASTE_DATABASE_URL", "DATABASE_URL")
    )
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "medwaste"
    jwt_audience: str = "medwaste-api"
    access_token_minutes: int = Field(default=15, ge=1, le=15)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    # A refresh token presented again this soon after its exchange is not taken for theft.
    refresh_reuse_grace_seconds: int = Field(default=30, ge=0, le=300)
    # Ed25519 label-signing private key (PKCS#8 PEM); generated into data_dir in development.
    label_signing_key: SecretStr | None = None
    # The transparency log's Ed25519 signing key (PKCS#8 PEM, or a signed-note signer key
    # PRIVATE+KEY+<origin>+<id>+<key>); generated into data_dir in development.
    log_signing_key: SecretStr | None = None
    # The log's name in its checkpoints and key (C2SP origin): its public address without the
    # scheme, e.g. "tracker.example.org/api/v1/log". Unset: the origin the log's checkpoints
    # carry, or for a new log "<host name>/api/v1/log".
    log_origin: str | None = None
    # How often the server integrates new events into the tree and signs a checkpoint (when
    # the tree grew); 0 disables it (``medwaste checkpoint`` issues one by hand).
    log_checkpoint_seconds: float = Field(default=5, ge=0)
    # The anomaly profile used where a jurisdiction has none of its own.
    default_profile: str = "cn-national"
    # A directory of the deployment's own anomaly profiles (TOML) and jurisdictions.toml.
    profiles_dir: Path | None = None
    # Custody moves to the destination at the receipt scan rather than at its signature.
    custody_on_receipt_scan: bool = False
    sweep_interval_seconds: int = Field(default=60, ge=0)
    # Logins are slowed, not locked: one (username, client address) pair may fail
    # login_max_failures times, then waits login_backoff_seconds after each failure, doubling
    # up to login_backoff_max_seconds. One address across usernames gets a looser budget.
    # A failure counts for login_window_seconds.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=100, ge=1)
    login_backoff_seconds: int = Field(default=2, ge=1)
    login_backoff_max_seconds: int = Field(default=600, ge=1)
    login_window_seconds: int = Field(default=3600, ge=1)
    # The reverse proxies whose X-Forwarded-For names the real client (addresses or CIDRs,
    # comma-separated). Default: none, and the header is ignored.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    db_pool_size: int = Field(default=10, ge=1)
    # How many scans or sync batches one server process works on at once on PostgreSQL (each
    # in a thread of its own, with a connection); the others wait their turn in arrival order.
    # On SQLite, which writes one transaction at a time, always one.
    scan_threads: int = Field(default=4, ge=1)
    # Webhook URLs may name loopback, private and link-local addresses (an inside receiver).
    webhook_allow_private_addresses: bool = False
    # Request bodies: every route, and the batch routes (a phone's sync of 1,000 scans).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Where the phone app and dashboard files are (default: the repository's web/ folder).
    web_dir: Path | None = None
    # The address this deployment is reached at. It names, in EPCIS, what has no GS1 key
    # (containers, sites, organizations, manifests): set it before exporting events.
    public_base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^/?#]+$")
    # Who may read /metrics (it tells volumes and who is busy): a scraper presenting this
    # bearer token, or one calling from these networks (JSON list; [] for the token only).
    metrics_token: SecretStr | None = None
    metrics_networks: list[IPv4Network | IPv6Network] = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")]
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # A typo must stop the start, not silently trust nobody (or the wrong host).
        return tuple(str(ipaddress.ip_network(part, strict=False)) for part in value)

    @model_validator(mode="after")
    def _backoff_fits_the_window(self) -> Settings:
        if self.login_backoff_max_seconds > self.login_window_seconds:
            raise ValueError(
                "MEDWASTE_LOGIN_BACKOFF_MAX_SECONDS must not exceed MEDWASTE_LOGIN_WINDOW_SECONDS"
                " (the failures that set a wait would be forgotten before it ends)"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_explicit_secrets(self) -> Settings:
        if self.env is Environment.production:
            missing = [
                name
                for name, value in (
                    ("MEDWASTE_JWT_SECRET", self.jwt_secret),
                    ("MEDWASTE_LABEL_SIGNING_KEY", self.label_signing_key),
                    ("MEDWASTE_LOG_SIGNING_KEY", self.log_signing_key),
                    ("DATABASE_URL", self.database_url),
                )
                if not value
            ]
            if missing:
                raise MissingSecret(
                    "production mode requires explicit settings: " + ", ".join(missing)
                )
        return self

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "medwaste.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    def jwt_key(self) -> str:
        """The JWT signing secret; in development generated once into the data directory."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self._generated_jwt_key is None:
            self._generated_jwt_key = read_or_create_secret(
                self.data_dir / "jwt_secret", lambda: secrets.token_hex(32)
            )
        return self._generated_jwt_key


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    # Write with owner-only permissions; never overwrite a secret another process created.
    try:
        with path.open("x") as handle:
            path.chmod(0o600)
            handle.write(value)
    except FileExistsError:
        return path.read_text().strip()
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
