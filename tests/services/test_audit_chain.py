"""The audit chain: appending, and verify catching every kind of tampering at the right seq.

Tampering is done the way an attacker with database-administrator rights would: the insert-only
triggers are switched off first (PostgreSQL: `session_replication_role = replica`, superuser
only; SQLite: dropping the triggers). Everything is rolled back after each test.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.base import utcnow
from services import audit
from services.actions import Action
from services.audit.chain import (
    CHAINED_COLUMNS,
    GENESIS_HASH,
    chained_hash,
    content_prefix,
    tuple_hash,
)
from services.audit.checkpoints import Checkpointer
from services.audit.context import RequestMeta, request_scope
from services.audit.enums import AuditOutcome
from services.audit.verify import DEFAULT_BATCH, VerifyReport, verify_log
from services.config import Settings
from services.crypto import Keyring, init_keyring
from services.identity.enums import PrincipalKind
from services.policy import Principal, Role
from tests.databases import is_postgres

TABLE = cast(Table, AuditEvent.__table__)
ALL_COLUMNS = (*CHAINED_COLUMNS, "hash")
USER = Principal(
    kind=PrincipalKind.USER,
    id=uuid.uuid4(),
    agency_id=uuid.uuid4(),
    name="amal",
    role=Role.CASEWORKER,
)
CLIENT = Principal(
    kind=PrincipalKind.CLIENT,
    id=uuid.uuid4(),
    agency_id=uuid.uuid4(),
    name="partner",
    scopes=frozenset({"referrals:read", "referrals:respond"}),
)


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return init_keyring(settings)


@pytest.fixture
def checkpointer(settings: Settings, keyring: Keyring) -> Checkpointer:
    return Checkpointer(settings, keyring)


def append(db: Session, count: int, *, per_commit: int = 3) -> None:
    """`count` events with every column filled in (users and clients alternate)."""
    done = 0
    while done < count:
        for _ in range(min(per_commit, count - done)):
            done += 1
            case_id = uuid.uuid4()
            with request_scope(RequestMeta(request_id=f"req-{done}", client_address="10.0.0.7")):
                audit.record(
                    db,
                    USER if done % 2 else CLIENT,
                    Action.CASE_READ if done % 3 else Action.REFERRAL_ACCEPT,
                    resource_type="case",
                    resource_id=case_id,
                    case_id=case_id,
                    fields=["child.given_name", "narrative"],
                    outcome=AuditOutcome.SUCCESS if done % 5 else AuditOutcome.DENIED,
                    detail={"status": 200, "n": done},
                )
        db.commit()


def verify(db: Session, settings: Settings, keyring: Keyring) -> VerifyReport:
    return verify_log(db.connection(), settings, keyring, batch_size=7)


@contextmanager
def as_dba(db: Session) -> Iterator[None]:
    """Switch the insert-only triggers off inside a savepoint, as a DBA could; undo afterwards."""
    savepoint = db.begin_nested()
    if is_postgres():
        db.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        db.execute(text("DROP TRIGGER audit_events_no_update"))
        db.execute(text("DROP TRIGGER audit_events_no_delete"))
    try:
        yield
    finally:
        savepoint.rollback()


def row(db: Session, seq: int) -> dict[str, Any]:
    found = db.execute(select(TABLE).where(TABLE.c.seq == seq)).mappings().one()
    return dict(found)


def rehash_from(db: Session, start: int) -> None:
    """What an attacker does after editing: recompute every hash from `start` to the end."""
    prev = GENESIS_HASH if start == 1 else row(db, start - 1)["hash"]
    for seq in db.scalars(select(TABLE.c.seq).where(TABLE.c.seq >= start).order_by(TABLE.c.seq)):
        values = row(db, seq)
        values["prev_hash"] = prev
        prev = tuple_hash([values[name] for name in CHAINED_COLUMNS])
        db.execute(
            update(TABLE).where(TABLE.c.seq == seq).values(prev_hash=values["prev_hash"], hash=prev)
        )


# --- appending ------------------------------------------------------------------------------


def test_events_are_chained_at_commit_with_seq_one_to_n(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    append(db, 10)
    rows = db.execute(select(TABLE).order_by(TABLE.c.seq)).mappings().all()
    assert [r["seq"] for r in rows] == list(range(1, 11))
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
    report = verify(db, settings, keyring)
    assert (report.valid, report.events_checked, report.first_invalid_seq) == (True, 10, None)


def test_an_empty_log_is_valid(db: Session, settings: Settings, keyring: Keyring) -> None:
    report = verify(db, settings, keyring)
    assert (report.valid, report.events_checked, report.first_invalid_seq) == (True, 0, None)


def test_a_rolled_back_transaction_leaves_no_event_and_no_gap(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    append(db, 2)
    audit.record(db, USER, Action.CASE_UPDATE, resource_type="case", resource_id=uuid.uuid4())
    db.rollback()
    append(db, 2)
    seqs = db.scalars(select(TABLE.c.seq).order_by(TABLE.c.seq)).all()
    assert seqs == [1, 2, 3, 4]
    assert db.scalars(select(TABLE.c.action).where(TABLE.c.action == "case.update")).all() == []
    assert verify(db, settings, keyring).valid


def test_user_values_cannot_forge_log_lines_or_overflow_columns(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    forged = 'x"\n{"seq": 2, "action": "auth.login"}\u202e\x00' + "y" * 500
    with request_scope(RequestMeta(request_id=forged[:64], client_address=forged)):
        audit.record(db, None, Action.AUTH_LOGIN_FAILED, resource_type="user", resource_id=forged)
    db.commit()
    event = db.execute(select(AuditEvent)).scalar_one()
    assert event.actor_type == "anonymous"
    assert event.resource_id is not None and len(event.resource_id) == 64
    assert event.client_address is not None and len(event.client_address) == 64
    assert verify(db, settings, keyring).valid


def test_the_application_cannot_update_or_delete_audit_rows(db: Session) -> None:
    append(db, 3)
    for statement in (
        update(TABLE).where(TABLE.c.seq == 2).values(action="case.list"),
        delete(TABLE).where(TABLE.c.seq == 3),
    ):
        savepoint = db.begin_nested()
        with pytest.raises(DatabaseError, match="append-only"):
            db.execute(statement)
        savepoint.rollback()
    if is_postgres():
        savepoint = db.begin_nested()
        with pytest.raises(DatabaseError, match="append-only"):
            db.execute(text("TRUNCATE audit_events"))
        savepoint.rollback()
    assert db.scalars(select(TABLE.c.action).where(TABLE.c.seq == 2)).one() != "case.list"
    assert db.scalar(select(TABLE.c.seq).where(TABLE.c.seq == 3)) == 3


# --- tampering, detected at the right seq ----------------------------------------------------


def _flip(value: Any, name: str, rng: random.Random) -> Any:
    """Change one byte (or bit, or unit) of a stored value, keeping it storable."""
    if name == "seq":
        return value + 1_000_000
    if value is None:
        return "x" if name not in ("actor_id", "actor_agency_id", "case_id") else uuid.uuid4()
    if name == "at":
        return value + rng.choice([timedelta(microseconds=1), timedelta(seconds=1)])
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=value.int ^ (1 << rng.randrange(128)))
    position = rng.randrange(len(value))
    return value[:position] + chr(ord(value[position]) ^ 1) + value[position + 1 :]


@pytest.mark.parametrize("column", ALL_COLUMNS)
def test_flipping_any_byte_of_any_column_of_any_row_is_caught_at_that_row(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer, column: str
) -> None:
    append(db, 24)
    head = row(db, 24)
    checkpointer.write(24, head["hash"])
    rng = random.Random(f"{column}-flip")
    assert verify(db, settings, keyring).valid
    for seq in sorted({1, 2, rng.randrange(3, 24), 23, 24}):
        for _ in range(2):
            with as_dba(db):
                value = row(db, seq)[column]
                db.execute(
                    update(TABLE)
                    .where(TABLE.c.seq == seq)
                    .values({column: _flip(value, column, rng)})
                )
                report = verify(db, settings, keyring)
            assert not report.valid, (column, seq)
            assert report.first_invalid_seq == seq, (column, seq, report.reason)
    assert verify(db, settings, keyring).valid


def test_a_deleted_row_is_caught_at_its_seq(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    append(db, 12)
    with as_dba(db):
        db.execute(delete(TABLE).where(TABLE.c.seq == 7))
        report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq, report.events_checked) == (False, 7, 6)


def test_two_swapped_rows_are_caught_at_the_first(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    append(db, 12)
    first, second = row(db, 5), row(db, 9)
    with as_dba(db):
        for seq, values in ((5, second), (9, first)):
            db.execute(
                update(TABLE)
                .where(TABLE.c.seq == seq)
                .values({k: v for k, v in values.items() if k != "seq"})
            )
        report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (False, 5)


def test_a_cut_tail_is_caught_only_through_a_checkpoint(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer
) -> None:
    append(db, 20)
    with as_dba(db):
        db.execute(delete(TABLE).where(TABLE.c.seq >= 17))
        # Without a checkpoint, a shorter chain is a valid chain: that is what they are for.
        assert verify(db, settings, keyring).valid
    checkpointer.write(20, row(db, 20)["hash"])
    with as_dba(db):
        db.execute(delete(TABLE).where(TABLE.c.seq >= 17))
        report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq, report.events_checked) == (False, 17, 16)


def test_a_rewritten_chain_is_caught_through_the_checkpoints(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer
) -> None:
    append(db, 30)
    for seq in (10, 20, 30):
        checkpointer.write(seq, row(db, seq)["hash"])
    with as_dba(db):
        db.execute(update(TABLE).where(TABLE.c.seq == 15).values(action="case.list"))
        rehash_from(db, 15)
        report = verify(db, settings, keyring)
    # Consistent in itself; the checkpoint at 20 disagrees; 10 still matched.
    assert (report.valid, report.first_invalid_seq) == (False, 11)
    assert "checkpoint" in (report.reason or "")
    with as_dba(db):
        db.execute(update(TABLE).where(TABLE.c.seq == 1).values(outcome="error"))
        rehash_from(db, 1)
        report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (False, 1)


def test_a_deleted_row_with_the_rest_renumbered_and_rehashed_is_caught(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer
) -> None:
    append(db, 20)
    for seq in (5, 12, 20):
        checkpointer.write(seq, row(db, seq)["hash"])
    with as_dba(db):
        db.execute(delete(TABLE).where(TABLE.c.seq == 8))
        for seq in range(9, 21):
            db.execute(update(TABLE).where(TABLE.c.seq == seq).values(seq=seq - 1))
        rehash_from(db, 8)
        report = verify(db, settings, keyring)
    # Seq 12 now holds what was 13: its checkpoint disagrees; the one at 5 still matched.
    assert (report.valid, report.first_invalid_seq) == (False, 6)


def _tamper_middle(db: Session, how: str) -> None:
    if how == "changed":
        db.execute(update(TABLE).where(TABLE.c.seq == 41).values(outcome="denied"))
    elif how == "deleted":
        db.execute(delete(TABLE).where(TABLE.c.seq == 41))
    elif how == "swapped":
        first, second = row(db, 41), row(db, 42)
        for seq, values in ((41, second), (42, first)):
            db.execute(
                update(TABLE)
                .where(TABLE.c.seq == seq)
                .values({k: v for k, v in values.items() if k != "seq"})
            )
    elif how == "relinked":
        db.execute(update(TABLE).where(TABLE.c.seq == 41).values(prev_hash=row(db, 39)["hash"]))
    else:  # rewritten and re-hashed from the middle: only the checkpoint at 60 can tell
        db.execute(update(TABLE).where(TABLE.c.seq == 41).values(action="case.list"))
        rehash_from(db, 41)


@pytest.mark.parametrize("how", ["changed", "deleted", "swapped", "relinked", "rehashed"])
def test_tampering_in_the_middle_of_a_large_batch_is_reported_as_row_by_row(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer, how: str
) -> None:
    """Verify checks a whole batch at once and goes row by row only when the batch holds a
    finding: a tampered row deep inside one batch (the default size, the whole chain here) must
    give the same report as batches of one row."""
    append(db, 80, per_commit=20)
    for seq in (20, 60):
        checkpointer.write(seq, row(db, seq)["hash"])
    with as_dba(db):
        _tamper_middle(db, how)
        reports = [
            verify_log(db.connection(), settings, keyring, batch_size=size)
            for size in (1, 7, 40, DEFAULT_BATCH)
        ]
    expected = {"changed": 41, "deleted": 41, "swapped": 41, "relinked": 41, "rehashed": 21}
    for report in reports:
        assert report == reports[0]
        assert (report.valid, report.first_invalid_seq) == (False, expected[how]), report.reason
    for size in (1, 40, DEFAULT_BATCH):
        assert verify_log(db.connection(), settings, keyring, batch_size=size).valid


# --- checkpoints that are themselves tampered with ----------------------------------------


def test_a_checkpoint_signed_by_another_key_or_altered_makes_the_log_invalid(
    db: Session, settings: Settings, keyring: Keyring, tmp_path: Path
) -> None:
    append(db, 6)
    stranger = init_keyring(settings.model_copy(update={"key_file": tmp_path / "other.json"}))
    Checkpointer(settings, stranger).write(6, row(db, 6)["hash"])
    report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (False, 6)
    assert "unknown key" in (report.reason or "")

    path = Path(settings.audit_checkpoint_file)
    path.unlink()
    good = Checkpointer(settings, keyring).write(4, row(db, 4)["hash"])
    assert good is not None and verify(db, settings, keyring).valid
    line = path.read_text()
    path.write_text(line.replace('"seq":4', '"seq":3'))
    report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (False, 3)
    assert "bad signature" in (report.reason or "")

    # A line that is not a checkpoint claims nothing: reported by number, apart from the chain.
    path.write_text(line + "not json\n")
    report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (True, None)
    assert report.malformed_checkpoint_lines == [2]


def test_a_torn_last_line_is_reported_not_held_against_the_chain(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    append(db, 3)
    Checkpointer(settings, keyring).write(3, row(db, 3)["hash"])
    path = Path(settings.audit_checkpoint_file)
    with path.open("a") as handle:
        handle.write('{"seq": 9, "hash": "ab')  # a crash in the middle of a write
    report = verify(db, settings, keyring)
    assert (report.valid, report.checkpoints_checked) == (True, 1)
    assert report.malformed_checkpoint_lines == [2]


def test_events_recorded_inside_a_rolled_back_savepoint_are_dropped_the_others_kept(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    audit.record(db, USER, Action.CASE_READ, resource_type="case", resource_id="kept-before")
    savepoint = db.begin_nested()
    audit.record(db, USER, Action.CASE_CREATE, resource_type="case", resource_id="dropped")
    savepoint.rollback()
    released = db.begin_nested()
    audit.record(db, USER, Action.CASE_UPDATE, resource_type="case", resource_id="kept-released")
    released.commit()
    db.commit()
    kept = db.scalars(select(TABLE.c.resource_id).order_by(TABLE.c.seq)).all()
    assert kept == ["kept-before", "kept-released"]
    assert verify(db, settings, keyring).valid


def test_the_prefix_form_of_the_hash_is_the_canonical_hash() -> None:
    """PostgreSQL completes hashes from a prefix (`haven_audit_append`); both forms agree."""
    values: dict[str, Any] = {
        name: f'v-{name}-\u00e9\n"' for name in CHAINED_COLUMNS if name not in ("seq", "at")
    }
    values.update(
        at=utcnow(),
        actor_id=uuid.uuid4(),
        actor_agency_id=None,
        case_id=uuid.uuid4(),
        seq=123456,
        prev_hash="ab" * 32,
    )
    ordered = [values[name] for name in CHAINED_COLUMNS]
    assert chained_hash(content_prefix(values), 123456, "ab" * 32) == tuple_hash(ordered)
