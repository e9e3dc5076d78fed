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
from sqlalchemy.engine import make_url

from models.db import DatabaseLimits
from services.identity.enums import Role

DATABASE_URL_SCHEMES = ("sqlite:", "postgresql+psycopg:", "postgresql:", "postgres:")
"""Every database URL Haven accepts starts with one of these (it picks its own driver)."""


def default_database_url() -> str:
    return f"sqlite:///{Path('var/haven.db').resolve()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAVEN_", extra="ignore", frozen=True)

    # --- storage -----------------------------------------------------------------------------
    database_url: str = Field(default_factory=default_database_url, repr=False)
    """`sqlite:///path/to/file.db`, or PostgreSQL as `postgresql+psycopg://user@host/db`
    (`postgresql://` and `postgres://` mean the same: Haven picks its own driver)."""
    database_password: SecretStr | None = None
    """Password of HAVEN_DATABASE_URL's user, given apart from the URL so that no character of
    it (`@ : / #`…) needs URL-encoding; it replaces a password in the URL."""
    database_password_file: Path | None = None
    """A file holding that password (a Docker or systemd secret); a final newline is ignored."""
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
    anonymous_window_seconds: int = Field(default=60, ge=1, le=86_400)
    """Refusals of unauthenticated requests are counted per client address in windows this
    long: the first of each window is audited as its own event, the rest as one summary."""
    anonymous_max_refusals: int = Field(default=30, ge=1)
    """Refusals of unauthenticated requests one address may collect per window; beyond it the
    address is answered 429 (with Retry-After) until the window ends."""
    mfa_required_roles: Annotated[frozenset[Role], NoDecode] = frozenset()
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

    # --- need to know (docs/need-to-know.md) ------------------------------------------------
    break_glass_review_hours: int = Field(default=72, ge=1)
    """A break-glass use nobody has reviewed this long after it began is overdue."""
    bulk_read_limit: int = Field(default=30, ge=1)
    """A staff user who opens more distinct cases it does not own than this within an hour
    raises a `bulk_read` alert."""
    bulk_read_client_limit: int = Field(default=200, ge=1)
    """The same for a partner client opening distinct referrals within an hour."""
    bulk_read_suspend: bool = False
    """When true, a `bulk_read` alert also suspends the reader (every request 403) until a
    supervisor clears it."""

    # --- audit -------------------------------------------------------------------------------
    audit_checkpoint_file: Path = Path("var/audit-checkpoints.jsonl")
    audit_checkpoint_every_events: int = Field(default=1000, ge=1)
    audit_checkpoint_every_seconds: int = Field(default=300, ge=1)
    audit_checkpoint_first_events: int = Field(default=100, ge=0)
    """Sign the head after every commit while the chain is this short (0: never), so a new
    installation's first events are signed at once, not minutes later."""
    audit_checkpoint_url: str | None = None
    """Optional URL that each signed checkpoint is also POSTed to."""

    # --- bounded waits (docs/resilience.md) ---------------------------------------------------
    db_connect_timeout_seconds: int = Field(default=5, ge=2, le=300)
    """Connecting to PostgreSQL, including its answer (libpq counts whole seconds, at least 2)."""
    db_statement_timeout_seconds: float = Field(default=15, ge=0)
    """PostgreSQL `statement_timeout` for the server's sessions; 0 = none."""
    db_lock_timeout_seconds: float = Field(default=5, ge=0)
    """PostgreSQL `lock_timeout`: the longest wait for a lock another transaction holds (the
    audit chain's, a case-number counter, a row); 0 = none."""
    db_idle_in_transaction_timeout_seconds: float = Field(default=10, ge=0)
    """PostgreSQL ends a session that keeps a transaction open without a word for this long (a
    paused or hung Haven process), which releases its locks for everyone else; 0 = never."""
    db_tcp_keepalive_seconds: int = Field(default=10, ge=1, le=3600)
    """TCP keepalive probes to PostgreSQL after this much silence; a vanished host is given up
    after about four times this."""
    db_pool_timeout_seconds: float = Field(default=5, gt=0)
    """Waiting for a free connection in a process's pool."""
    sqlite_busy_timeout_seconds: float = Field(default=10, gt=0)
    """SQLite: waiting for the database's write lock."""
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    """SQLite durability: FULL keeps every acknowledged write through a power loss; NORMAL is
    faster but may lose the last commits (docs/resilience.md has the measured cost)."""
    request_timeout_seconds: float = Field(default=30, gt=0)
    """An API request's database work answers within this, or the request answers 503 (its
    transaction is rolled back, not committed, when it finishes later)."""
    request_queue_timeout_seconds: float = Field(default=5, gt=0)
    """How long an API request waits for a request slot before answering 503."""
    request_queue_limit: int = Field(default=100, ge=0)
    """At most this many requests wait for a slot in one worker; more answer 503 at once."""
    ready_timeout_seconds: float = Field(default=2, gt=0)
    """`/ready` answers 503 when the database has not answered its probe within this."""

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
        if not value.startswith(DATABASE_URL_SCHEMES):
            raise ValueError(
                "must start with "
                + ", ".join(f"{scheme}//" for scheme in DATABASE_URL_SCHEMES)
                + " (e.g. sqlite:///var/haven.db or postgresql+psycopg://user@host/db)"
            )
        return value

    @model_validator(mode="after")
    def _password_into_url(self) -> Settings:
        password = self.database_password.get_secret_value() if self.database_password else None
        if self.database_password_file is not None:
            try:
                text = self.database_password_file.read_text(encoding="utf-8")
            except OSError as error:
                raise ValueError(
                    f"HAVEN_DATABASE_PASSWORD_FILE cannot be read: {error.strerror}"
                ) from None
            password = text.removesuffix("\n").removesuffix("\r")
        if password is None:
            return self
        url = make_url(self.database_url).set(password=password)
        # The settings are frozen; this runs once, while they are being built. SQLAlchemy
        # percent-encodes the password, so the URL parses back to exactly this password.
        object.__setattr__(self, "database_url", url.render_as_string(hide_password=False))
        return self


def database_limits(settings: Settings) -> DatabaseLimits:
    """The settings' bounds on database waits, in the form `models.db.make_engine` takes."""
    return DatabaseLimits(
        connect_timeout_seconds=settings.db_connect_timeout_seconds,
        statement_timeout_ms=round(settings.db_statement_timeout_seconds * 1000),
        lock_timeout_ms=round(settings.db_lock_timeout_seconds * 1000),
        idle_in_transaction_timeout_ms=round(
            settings.db_idle_in_transaction_timeout_seconds * 1000
        ),
        tcp_keepalive_seconds=settings.db_tcp_keepalive_seconds,
        pool_timeout_seconds=settings.db_pool_timeout_seconds,
        sqlite_busy_timeout_ms=round(settings.sqlite_busy_timeout_seconds * 1000),
    )


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
