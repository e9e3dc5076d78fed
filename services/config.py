"""Settings from `HAVEN_*` environment variables (pydantic-settings).

Every knob an operator may turn lives here, documented in docs/operating.md's configuration table.
Relative paths are relative to the current working directory, so `haven` works from anywhere.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

StaffRole = Literal["system_admin", "agency_admin", "supervisor", "caseworker", "auditor"]


def default_database_url() -> str:
    return f"sqlite:///{Path('var/haven.db').resolve()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAVEN_", extra="ignore", frozen=True)

    # --- storage -----------------------------------------------------------------------------
    database_url: str = Field(default_factory=default_database_url)
    """`sqlite:///path/to/file.db` or `postgresql+psycopg://user@host/db`."""
    key_file: Path = Path("var/keyring.json")
    """Local keyring (KEKs, blind-index root, audit signing key). Created 0600 by `haven migrate`
    on a database holding no data keys, never by `serve`."""
    keyring: Literal["file", "pkcs11"] = "file"
    """Where the key-encryption keys live: the key file, or a PKCS#11 token (an HSM)."""
    pkcs11_module: Path | None = None
    """Path of the PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so) for `keyring=pkcs11`."""
    pkcs11_token: str | None = None
    """Label of the token holding Haven's keys."""
    pkcs11_pin: SecretStr | None = None
    """The token user's PIN (or give `pkcs11_pin_file`)."""
    pkcs11_pin_file: Path | None = None
    """A file holding the PIN (its first line), readable only by Haven's user."""
    pkcs11_key_prefix: str = Field(default="haven", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    """Label prefix of Haven's objects in the token (`haven-kek-v1`, ...)."""
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

    @field_validator("mfa_required_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _check_pkcs11(self) -> Settings:
        if self.keyring == "pkcs11":
            missing = [
                name
                for name, value in (
                    ("HAVEN_PKCS11_MODULE", self.pkcs11_module),
                    ("HAVEN_PKCS11_TOKEN", self.pkcs11_token),
                )
                if not value
            ]
            if self.pkcs11_pin is None and self.pkcs11_pin_file is None:
                missing.append("HAVEN_PKCS11_PIN or HAVEN_PKCS11_PIN_FILE")
            if missing:
                raise ValueError(f"HAVEN_KEYRING=pkcs11 needs {', '.join(missing)}")
        return self

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
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
        if not item["loc"]:  # a rule about several variables names them itself
            lines.append(f"  {item['msg'].removeprefix('Value error, ')}")
            continue
        name = "HAVEN_" + "_".join(str(p) for p in item["loc"]).upper()
        lines.append(f"  {name}: {item['msg']}")
    return "\n".join(lines)
