"""Checkpoint files under faults: a full disk, a crash mid-write, a truncated file.

A torn write must never make an intact chain look broken: the fragment is reported as a malformed
line (by number), apart from the chain's first bad seq, and later checkpoints still count.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from services import audit
from services.actions import Action
from services.audit import checkpoints
from services.audit.checkpoints import Checkpointer
from services.audit.verify import VerifyReport, verify_log
from services.config import Settings
from services.crypto import Keyring
from tests.keyrings import open_keyring


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return open_keyring(settings)


@pytest.fixture
def checkpointer(settings: Settings, keyring: Keyring) -> Checkpointer:
    return Checkpointer(settings, keyring)


def commit_events(db: Session, count: int) -> str:
    """Commit `count` events; the new head's hash."""
    for n in range(count):
        audit.record(db, None, Action.AUTH_LOGIN_FAILED, resource_type="user", resource_id=f"u{n}")
    db.commit()
    return str(db.scalars(select(AuditEvent.hash).order_by(AuditEvent.seq.desc())).first())


def verify(db: Session, settings: Settings, keyring: Keyring) -> VerifyReport:
    return verify_log(db.connection(), settings, keyring)


def test_a_truncated_last_line_then_a_new_checkpoint_keeps_the_chain_valid(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer
) -> None:
    checkpointer.write(3, commit_events(db, 3))
    checkpointer.write(6, commit_events(db, 3))
    path = Path(settings.audit_checkpoint_file)
    whole = path.read_bytes()
    path.write_bytes(whole[:-40])  # the last line loses its end (and its newline)

    report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (True, None)
    assert (report.checkpoints_checked, report.malformed_checkpoint_lines) == (1, [2])
    assert any("line 2" in warning for warning in report.warnings)

    checkpointer.write(9, commit_events(db, 3))
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == whole.split(b"\n")[1][:-39]  # the fragment, now a line of its own
    report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (True, None)
    assert (report.checkpoints_checked, report.malformed_checkpoint_lines) == (2, [2])


def test_a_checkpoint_after_a_fragment_starts_on_a_new_line(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer
) -> None:
    path = Path(settings.audit_checkpoint_file)
    path.write_bytes(b'{"alg":"ed25519","hash":"ab')  # a crash in the middle of a write
    checkpointer.write(2, commit_events(db, 2))
    fragment, line, end = path.read_bytes().split(b"\n")
    assert (fragment, end) == (b'{"alg":"ed25519","hash":"ab', b"")
    assert checkpoints.parse_line(line.decode()).seq == 2
    report = verify(db, settings, keyring)
    assert (report.valid, report.checkpoints_checked) == (True, 1)
    assert report.malformed_checkpoint_lines == [1]


def test_a_checkpoint_glued_onto_a_fragment_by_an_older_version_still_counts(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer
) -> None:
    path = Path(settings.audit_checkpoint_file)
    checkpointer.write(2, commit_events(db, 2))
    good = checkpointer.sign(4, commit_events(db, 2)).line()
    with path.open("ab") as handle:
        handle.write(b'{"alg":"ed25519","seq":3,"ha' + good)
    report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (True, None)
    assert (report.checkpoints_checked, report.malformed_checkpoint_lines) == (2, [2])


def test_a_short_write_is_cut_back_so_the_next_checkpoint_starts_clean(
    db: Session,
    settings: Settings,
    keyring: Keyring,
    checkpointer: Checkpointer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checkpointer.write(2, commit_events(db, 2))
    path = Path(settings.audit_checkpoint_file)
    before = path.read_bytes()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:  # the disk fills half-way through the line
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr("services.audit.checkpoints.os.write", full_disk)
    with pytest.raises(OSError, match="short write"):
        checkpointer.write(4, commit_events(db, 2))
    assert path.read_bytes() == before
    monkeypatch.setattr("services.audit.checkpoints.os.write", real_write)

    checkpointer.write(6, commit_events(db, 2))
    report = verify(db, settings, keyring)
    assert (report.valid, report.checkpoints_checked, report.malformed_checkpoint_lines) == (
        True,
        2,
        [],
    )


def test_a_signed_checkpoint_that_disagrees_is_still_invalid_beside_a_malformed_line(
    db: Session, settings: Settings, keyring: Keyring, checkpointer: Checkpointer
) -> None:
    # Skipping malformed lines must not hide a real mismatch on another line.
    commit_events(db, 4)
    checkpointer.write(3, "ab" * 32)
    path = Path(settings.audit_checkpoint_file)
    with path.open("ab") as handle:
        handle.write(b"not a checkpoint\n")
    report = verify(db, settings, keyring)
    assert (report.valid, report.first_invalid_seq) == (False, 1)
    assert "differs from its signed checkpoint" in (report.reason or "")
    assert report.malformed_checkpoint_lines == [2]
