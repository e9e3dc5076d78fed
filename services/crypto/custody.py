"""Proving a keyring against the database before anything is written under it.

A keyring that is not the one the data was written under is the worst slip an operator can make:
new cases would be wrapped under keys nobody else holds while old ones fail to open, and the
audit checkpoints would be signed by a stranger. So a running process holds its keyring behind
`ProvenKeyring`, which refuses every use of a key (wrap, unwrap, derived keys, signing) until
`prove_against_database` has shown that the keyring unwraps the database's data keys: the oldest
and the newest live data key of every KEK version in use, so that a database holding keys of
several versions (an unfinished rotation, a migration to a token) is checked version by version.

- The proof needs the database. When it cannot be reached (PostgreSQL down at start), the process
  still starts, and every use of a key raises `KeyringNotProven` (a service answers 503) and
  retries the proof, at most once per `RETRY_SECONDS`, until it succeeds.
- A proof that fails raises `KeyringMismatch`: a command refuses to start; a server worker keeps
  refusing (and retrying, so putting the right key file back heals it) rather than exiting, since
  a supervisor would restart an exiting worker in a loop. `haven serve` proves once before any
  worker starts, so a mismatch known at start refuses the whole server once.
- A key file that changes on disk while Haven runs is proven the same way before it is adopted
  (`LocalFileKeyring.adoption_check`); one that fails is logged and not adopted, and the keys
  already proven serve on.
A database with no live data key proves nothing and so accepts any keyring: no data is readable
under one keyring and not another yet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from models.db import READ_ONLY_OPTION
from models.keys import DataKey
from services.crypto.errors import (
    DecryptionError,
    KeyringError,
    KeyringMismatch,
    KeyringNotProven,
    KeyringUnavailable,
)
from services.crypto.keyring import Keyring, WrappedKey

log = logging.getLogger("haven.keyring")

Unwrap = Callable[[WrappedKey], bytes]
RETRY_SECONDS = 1.0


def _database_absent(engine: Engine) -> bool:
    if engine.dialect.name != "sqlite":
        return False
    database = engine.url.database
    return not database or database == ":memory:" or not Path(database).exists()


def proof_keys(connection: Connection) -> list[WrappedKey]:
    """The oldest and newest live data key of every KEK version in use (at most two per version;
    each found through the `kek_version` index)."""
    versions = connection.scalars(
        select(DataKey.kek_version).where(DataKey.wrapped_key.is_not(None)).distinct()
    ).all()
    found: list[WrappedKey] = []
    for version in sorted(versions):
        for order in (
            (DataKey.created_at.desc(), DataKey.id.desc()),
            (DataKey.created_at, DataKey.id),
        ):
            blob = connection.scalar(
                select(DataKey.wrapped_key)
                .where(DataKey.kek_version == version, DataKey.wrapped_key.is_not(None))
                .order_by(*order)
                .limit(1)
            )
            if blob is not None:
                found.append(WrappedKey(kek_version=version, blob=blob))
    return found


def prove_against_database(engine: Engine, unwrap: Unwrap) -> int:
    """Show that `unwrap` opens the database's data keys (see the module docstring); returns how
    many keys it opened. `KeyringNotProven` when the database cannot be reached,
    `KeyringMismatch` when a key does not open."""
    if _database_absent(engine):
        return 0
    try:
        with engine.connect() as connection:
            connection.execution_options(**{READ_ONLY_OPTION: True})
            if not inspect(connection).has_table(DataKey.__tablename__):
                return 0
            keys = proof_keys(connection)
    except DBAPIError as error:
        raise KeyringNotProven(
            "the keyring has not been proven against the database yet, because the database "
            f"cannot be reached ({type(error.orig or error).__name__}); nothing is written "
            "until it has been"
        ) from None
    for wrapped in keys:
        try:
            unwrap(wrapped)
        except (DecryptionError, KeyringError) as error:
            raise KeyringMismatch(
                f"this keyring cannot unwrap the database's data keys under KEK version "
                f"{wrapped.kek_version} ({error}). Is HAVEN_KEY_FILE (or the token) the keyring "
                "this database was written with? Restore it from its backup; never start Haven "
                "with a new keyring against existing data."
            ) from None
    return len(keys)


class ProvenKeyring:
    """A `Keyring` that refuses to use its backend's keys until proven (module docstring)."""

    def __init__(self, backend: Keyring, engine: Engine) -> None:
        self.backend = backend
        self._engine = engine
        self._proven = False
        self._failure: KeyringUnavailable | None = None
        self._failed_at = 0.0
        self._lock = threading.Lock()
        if hasattr(backend, "adoption_check"):
            backend.adoption_check = self._prove_candidate

    def __getattr__(self, name: str) -> object:
        """What only one backend offers (the key file's `export_for_escrow` for `haven backup`)
        is reached through the proven keyring as it is on the backend."""
        if name == "backend":  # not set yet (during __init__): no recursion
            raise AttributeError(name)
        return getattr(self.backend, name)

    # --- the proof -------------------------------------------------------------------------
    def _prove_candidate(self, unwrap: Unwrap) -> None:
        prove_against_database(self._engine, unwrap)

    def _prove_locked(self, *, report: bool) -> None:
        refresh = getattr(self.backend, "refresh", None)
        try:
            if refresh is not None:
                refresh()  # a file changed meanwhile is proven (and adopted) first
            unwrap = getattr(self.backend, "unwrap_with_loaded", self.backend.unwrap_data_key)
            prove_against_database(self._engine, unwrap)
        except KeyringUnavailable as error:
            if report and (self._failure is None or str(self._failure) != str(error)):
                log.error("keyring refused: %s", error)  # once per cause, not once per request
            self._failure, self._failed_at = error, time.monotonic()
            raise
        if self._failure is not None:
            log.warning("keyring proven against the database; keys in use again")
        self._proven, self._failure = True, None

    def prove(self) -> None:
        """Prove now; raises `KeyringNotProven` or `KeyringMismatch` (the caller reports it)."""
        with self._lock:
            self._prove_locked(report=False)

    def require(self) -> None:
        """Return when proven; otherwise retry the proof (at most once per `RETRY_SECONDS`)."""
        if self._proven:
            return
        with self._lock:
            if self._proven:
                return
            failure = self._failure
            if failure is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
                raise type(failure)(str(failure))
            self._prove_locked(report=True)

    @property
    def problem(self) -> str | None:
        """Why keys may not be used now (for the readiness check), or None when proven."""
        if self._proven:
            return None
        try:
            self.require()
        except KeyringUnavailable as error:
            return str(error)
        return None

    # --- the Keyring interface (key uses need the proof; version bookkeeping does not) -----
    def current_kek_version(self) -> int:
        return self.backend.current_kek_version()

    def kek_versions(self) -> list[int]:
        return self.backend.kek_versions()

    def holds_kek_version(self, version: int) -> bool:
        return self.backend.holds_kek_version(version)

    def kek_added_at(self, version: int) -> datetime | None:
        return self.backend.kek_added_at(version)

    def retired_kek_versions(self) -> list[int]:
        return self.backend.retired_kek_versions()

    def wrap_data_key(self, dek: bytes) -> WrappedKey:
        self.require()
        return self.backend.wrap_data_key(dek)

    def unwrap_data_key(self, wrapped: WrappedKey) -> bytes:
        self.require()
        return self.backend.unwrap_data_key(wrapped)

    def add_kek_version(self) -> int:
        self.require()
        return self.backend.add_kek_version()

    def retire_kek_versions(self, versions: list[int]) -> list[int]:
        self.require()
        return self.backend.retire_kek_versions(versions)

    def system_key(self, purpose: str) -> bytes:
        self.require()
        return self.backend.system_key(purpose)

    def blind_index_key(self, field: str) -> bytes:
        self.require()
        return self.backend.blind_index_key(field)

    def sign(self, message: bytes) -> bytes:
        self.require()
        return self.backend.sign(message)

    def signing_public_key(self) -> bytes:
        self.require()
        return self.backend.signing_public_key()
