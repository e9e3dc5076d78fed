"""Settings from `HAVEN_*` environment variables (pydantic-settings).

Every knob an operator may turn lives here, documented in docs/operating.md's configuration table.
Relative paths are relative to the current working directory, so `haven` works from anywhere.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

StaffRole = Literal["system_admin", "agency_admin", "supervisor", "caseworker", "auditor"]


DATABASE_URL_SCHEMES = ("sqlite:", "postgresql+psycopg:", "postgresql:", "postgres:")
"""Every database URL Haven accepts starts with one of these (it picks its own driver)."""


def default_database_url() -> str:
    return f"sqlite:///{Path('var/haven.db').resolve()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAVEN_", extra="ignore", frozen=True)

    # --- storage -----------------------------------------------------------------------------
    database_url: str = Field(default_factory=default_database_url)
    """`sqlite:///path/to/file.db`, or PostgreSQL as `postgresql+psycopg://user@host/db`
    (`postgresql://` and `postgres://` mean the same: Haven picks its own driver)."""
    key_file: Path = Path("var/keyring.json")
    """Local keyring (KEKs, blind-index root, audit signing key). Created 0600 when absent."""
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)

    # --- HTTP --------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    trust_forwarded_for: bool = False
    """Take the client address from X-Forwarded-For (only behind a proxy you control)."""
    proxy_hops: int = Field(default=1, ge=1, le=10)
    """Trusted proxies appending to X-Forwarded-For; the client is that many from the right."""

    # --- tokens and logins -------------------------------------------------------------------
    token_idle_minutes: int = Field(default=30, ge=1)
    token_lifetime_hours: int = Field(default=12, ge=1)
    client_token_lifetime_minutes: int = Field(default=60, ge=1)
    login_max_failures_per_account: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    mfa_required_roles: Annotated[frozenset[StaffRole], NoDecode] = frozenset()
    """Comma-separated roles that must use a TOTP second factor, e.g. `supervisor,system_admin`."""
    totp_issuer: str = "Haven"

    # --- case scheduling ---------------------------------------------------------------------
    first_action_hours_high: int = Field(default=24, ge=1)
    first_action_hours_medium: int = Field(default=72, ge=1)
    first_action_hours_low: int = Field(default=168, ge=1)
    review_days_high: int = Field(default=30, ge=1)
    review_days_medium: int = Field(default=60, ge=1)
    review_days_low: int = Field(default=90, ge=1)
    referral_response_hours_high: int = Field(default=24, ge=1)
    referral_response_hours_medium: int = Field(default=72, ge=1)
    referral_response_hours_low: int = Field(default=168, ge=1)
    planned_case_count: int = Field(default=100_000, ge=100)
    """Expected number of cases; sizes the blind-index truncation (docs/security.md)."""

    # --- audit -------------------------------------------------------------------------------
    audit_checkpoint_file: Path = Path("var/audit-checkpoints.jsonl")
    audit_checkpoint_every_events: int = Field(default=1000, ge=1)
    audit_checkpoint_every_seconds: int = Field(default=300, ge=1)
    audit_checkpoint_url: str | None = None
    """Optional URL that each signed checkpoint is also POSTed to."""

    # --- backups -----------------------------------------------------------------------------
    escrow_recipient: str | None = None
    """age public key (`age1…`) that `haven backup` encrypts the keyring to; its identity (the
    recovery key) is kept offline and only needed by `haven restore`."""

    @field_validator("mfa_required_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(DATABASE_URL_SCHEMES):
            raise ValueError(
                "must start with "
                + ", ".join(f"{scheme}//" for scheme in DATABASE_URL_SCHEMES)
                + " (e.g. sqlite:///var/haven.db or postgresql+psycopg://user@host/db)"
            )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def format_settings_error(error: Exception) -> str:
    """One readable line per bad variable, for the CLI and the app factory."""
    from pydantic import ValidationError

    if not isinstance(error, ValidationError):
        return str(error)
    lines = ["Invalid Haven settings:"]
    for item in error.errors():
        name = "HAVEN_" + "_".join(str(p) for p in item["loc"]).upper()
        lines.append(f"  {name}: {item['msg']}")
    return "\n".join(lines)
