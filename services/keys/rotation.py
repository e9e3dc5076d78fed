"""Key rotation: add a KEK version, then re-wrap every live data key under it, in batches.

A batch job that owns its transactions (each batch commits on its own), so it is:
- resumable: progress lives in the rows themselves (`kek_version`); a crash or kill at any point
  leaves every key wrapped under either the old or the new version, both of which the keyring
  keeps, and running `rotate` again picks up the keys still below the current version;
- safe while the server runs: content is never touched, a row changes in one UPDATE inside its
  batch's transaction, and a worker whose keyring copy predates the new version re-reads the
  key file when it meets it. On PostgreSQL the batch locks its rows (`FOR UPDATE`) so a
  concurrent erasure either waits for the batch or wins, and the UPDATE re-checks that the key
  is still live, so a destroyed key is never brought back.

Old KEK versions stay in the keyring until `retire_old_versions` (`haven keys retire`) destroys
them, which it does only when no live data key uses them any more. That is the step that makes
database backups (and dead row versions, WAL archives) from before the rotation unreadable,
including the wrapped keys of cases erased since: see docs/security.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from models.base import utcnow
from models.keys import DataKey
from services import audit
from services.actions import Action
from services.audit.enums import ActorType
from services.crypto.errors import DecryptionError, KeyringError
from services.crypto.keyring import Keyring, WrappedKey

DEFAULT_BATCH_SIZE = 500


def sa_table(model: type[DataKey]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):  # a declarative model always maps a Table
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


SYSTEM_ACTOR = audit.Actor(type=ActorType.SYSTEM)


@dataclass(frozen=True)
class RotationPlan:
    kek_version: int
    """The version keys are being re-wrapped to."""
    added_version: bool
    """True when this run added the version; False when it resumes an unfinished rotation."""
    pending: int
    """Live data keys still wrapped under an older version when the run started."""


@dataclass(frozen=True)
class RotationResult:
    kek_version: int
    added_version: bool
    rewrapped: int
    batches: int


@dataclass(frozen=True)
class KeyStatus:
    current_kek_version: int
    kek_versions: list[int]
    retired_versions: list[int] = field(default_factory=list)
    live_by_version: dict[int, int] = field(default_factory=dict)
    """Live (not destroyed) data keys per KEK version, including versions the keyring lacks."""
    destroyed: int = 0

    @property
    def pending(self) -> int:
        """Live keys under a version older than the current one (an unfinished rotation)."""
        return sum(n for v, n in self.live_by_version.items() if v < self.current_kek_version)

    @property
    def unknown_versions(self) -> list[int]:
        """Versions data keys name that the keyring does not hold (those keys are unreadable)."""
        return sorted(v for v in self.live_by_version if v not in self.kek_versions)


def count_pending(session: Session, below_version: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(DataKey)
            .where(DataKey.kek_version < below_version, DataKey.wrapped_key.is_not(None))
        )
        or 0
    )


def key_status(session_factory: sessionmaker[Session], keyring: Keyring) -> KeyStatus:
    with session_factory() as session:
        live = session.execute(
            select(DataKey.kek_version, func.count())
            .where(DataKey.wrapped_key.is_not(None))
            .group_by(DataKey.kek_version)
        ).all()
        destroyed = session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.wrapped_key.is_(None))
        )
    return KeyStatus(
        current_kek_version=keyring.current_kek_version(),
        kek_versions=keyring.kek_versions(),
        retired_versions=keyring.retired_kek_versions(),
        live_by_version={int(version): int(n) for version, n in live},
        destroyed=int(destroyed or 0),
    )


def begin_rotation(session_factory: sessionmaker[Session], keyring: Keyring) -> RotationPlan:
    """Step 1: resume an unfinished rotation, or else add a KEK version (recorded in the audit)."""
    current = keyring.current_kek_version()
    with session_factory() as session:
        pending = count_pending(session, current)
    if pending:
        return RotationPlan(kek_version=current, added_version=False, pending=pending)
    version = keyring.add_kek_version()
    with session_factory() as session, session.begin():
        pending = count_pending(session, version)
        audit.record(
            session,
            SYSTEM_ACTOR,
            Action.KEYS_KEK_ADDED,
            resource_type="keyring",
            resource_id=version,
            detail={"kek_version": version, "data_keys_to_rewrap": pending},
        )
    return RotationPlan(kek_version=version, added_version=True, pending=pending)


def rewrap_batch(session_factory: sessionmaker[Session], keyring: Keyring, batch_size: int) -> int:
    """Re-wrap up to `batch_size` live keys below the current version in one transaction."""
    with session_factory() as session, session.begin():
        current = keyring.current_kek_version()
        rows = session.execute(
            select(DataKey.id, DataKey.kek_version, DataKey.wrapped_key)
            .where(DataKey.kek_version < current, DataKey.wrapped_key.is_not(None))
            .order_by(DataKey.id)
            .limit(batch_size)
            .with_for_update()
        ).all()
        if not rows:
            return 0
        now = utcnow()
        params = []
        for key_id, old_version, blob in rows:
            if blob is None:  # excluded by the query; keeps the types honest
                continue
            try:
                dek = keyring.unwrap_data_key(WrappedKey(kek_version=old_version, blob=blob))
            except (DecryptionError, KeyringError) as error:
                raise KeyringError(f"data key {key_id} cannot be unwrapped: {error}") from None
            wrapped = keyring.wrap_data_key(dek)
            params.append(
                {
                    "b_id": key_id,
                    "b_old": old_version,
                    "b_version": wrapped.kek_version,
                    "b_blob": wrapped.blob,
                    "b_at": now,
                }
            )
        table = sa_table(DataKey)
        session.connection().execute(
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.kek_version == bindparam("b_old"),
                table.c.wrapped_key.is_not(None),
            )
            .values(
                kek_version=bindparam("b_version"),
                wrapped_key=bindparam("b_blob"),
                rewrapped_at=bindparam("b_at"),
            ),
            params,
        )
        return len(rows)


def rewrap_all(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Step 2: re-wrap batches until no live key is below the current version.

    Returns (keys re-wrapped, batches). `on_batch(n)` runs after each committed batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    total = batches = 0
    while True:
        done = rewrap_batch(session_factory, keyring, batch_size)
        if done == 0:
            return total, batches
        total += done
        batches += 1
        if on_batch is not None:
            on_batch(done)


def rotate(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_plan: Callable[[RotationPlan], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> RotationResult:
    """Add a KEK version (or resume an unfinished rotation) and re-wrap every live data key."""
    plan = begin_rotation(session_factory, keyring)
    if on_plan is not None:
        on_plan(plan)
    rewrapped, batches = rewrap_all(
        session_factory, keyring, batch_size=batch_size, on_batch=on_batch
    )
    with session_factory() as session, session.begin():
        audit.record(
            session,
            SYSTEM_ACTOR,
            Action.KEYS_ROTATED,
            resource_type="keyring",
            resource_id=plan.kek_version,
            detail={
                "kek_version": plan.kek_version,
                "resumed": not plan.added_version,
                "rewrapped": rewrapped,
            },
        )
    return RotationResult(
        kek_version=plan.kek_version,
        added_version=plan.added_version,
        rewrapped=rewrapped,
        batches=batches,
    )


def retire_old_versions(session_factory: sessionmaker[Session], keyring: Keyring) -> list[int]:
    """Destroy every KEK version older than the current one; refuse while a live key uses one.

    The check and the removal happen while holding the data-key table against writers (SQLite:
    the write lock every transaction takes; PostgreSQL: `LOCK TABLE ... IN SHARE MODE`), so no
    key can be stored under an old version between them; a request that wrapped a key under an
    old version just before waits for the lock, then sees the version gone and re-wraps
    (`create_data_key`). Returns the versions retired.
    """
    with session_factory() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("LOCK TABLE data_keys IN SHARE MODE"))
        current = keyring.current_kek_version()
        old = [version for version in keyring.kek_versions() if version < current]
        if not old:
            return []
        still = count_pending(session, current)
        if still:
            raise KeyringError(
                f"{still} data key(s) still use KEK version(s) below {current}; "
                "run `haven keys rotate` to finish the rotation first"
            )
        retired = keyring.retire_kek_versions(old)
        audit.record(
            session,
            SYSTEM_ACTOR,
            Action.KEYS_KEK_RETIRED,
            resource_type="keyring",
            resource_id=current,
            detail={"retired_versions": retired, "current_kek_version": current},
        )
        return retired
