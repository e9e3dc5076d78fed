"""Signed checkpoints: when they are written, the file format, concurrent writers, the URL."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from services import audit
from services.actions import Action
from services.audit.checkpoints import Checkpointer, read_checkpoints, signed_message
from services.audit.log import CHECKPOINTER_KEY
from services.audit.verify import verify_log
from services.config import Settings
from services.crypto import Keyring, init_keyring, verify_signature


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return init_keyring(settings)


def seqs_in(path: Path) -> list[int]:
    return [line.checkpoint.seq for line in read_checkpoints(path) if line.checkpoint]


def commit_events(db: Session, count: int) -> None:
    for _ in range(count):
        audit.record(
            db, None, Action.AUTH_LOGIN_FAILED, resource_type="user", resource_id=uuid.uuid4()
        )
    db.commit()


def test_a_checkpoint_line_is_self_describing_and_verifies_with_the_public_key(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    commit_events(db, 2)
    head = db.execute(select(AuditEvent).where(AuditEvent.seq == 2)).scalar_one()
    checkpoint = Checkpointer(settings, keyring).checkpoint_head(db)
    assert checkpoint is not None
    raw = json.loads(Path(settings.audit_checkpoint_file).read_text())
    assert set(raw) == {"seq", "hash", "at", "alg", "key_id", "public_key", "signature"}
    assert (raw["seq"], raw["hash"], raw["alg"]) == (2, head.hash, "ed25519")
    public_key = keyring.signing_public_key()
    assert raw["public_key"] == checkpoint.to_json()["public_key"]
    message = signed_message(raw["seq"], raw["hash"], raw["at"])
    assert verify_signature(public_key, message, checkpoint.signature)
    assert not verify_signature(
        public_key, signed_message(3, raw["hash"], raw["at"]), checkpoint.signature
    )
    assert os.stat(settings.audit_checkpoint_file).st_mode & 0o007 == 0


def test_an_empty_log_has_no_head_to_sign(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    assert Checkpointer(settings, keyring).checkpoint_head(db) is None
    assert not Path(settings.audit_checkpoint_file).exists()


def test_a_checkpoint_is_written_after_the_commit_that_crosses_every_n_events(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    tuned = settings.model_copy(
        update={"audit_checkpoint_every_events": 5, "audit_checkpoint_every_seconds": 3600}
    )
    db.info[CHECKPOINTER_KEY] = Checkpointer(tuned, keyring)
    path = Path(settings.audit_checkpoint_file)
    commit_events(db, 3)  # no checkpoint file yet: the first events are signed at once
    assert seqs_in(path) == [3]
    commit_events(db, 1)  # 4
    commit_events(db, 3)  # 5..7 crosses 5
    commit_events(db, 2)  # 8..9
    commit_events(db, 1)  # 10 crosses 10
    commit_events(db, 12)  # 11..22 crosses 15 and 20: one checkpoint of its head
    assert seqs_in(path) == [3, 7, 10, 22]
    report = verify_log(db.connection(), settings, keyring)
    assert (report.valid, report.checkpoints_checked, report.events_checked) == (True, 4, 22)


def test_a_young_chain_is_signed_after_every_commit(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    """With the default intervals (every 1000 events or 300 s), a new installation's first
    events would otherwise wait minutes behind the bootstrap's checkpoint."""
    defaults = Settings()
    tuned = settings.model_copy(
        update={
            "audit_checkpoint_every_events": defaults.audit_checkpoint_every_events,
            "audit_checkpoint_every_seconds": defaults.audit_checkpoint_every_seconds,
            "audit_checkpoint_first_events": 6,
        }
    )
    assert defaults.audit_checkpoint_first_events > 0  # on by default
    db.info[CHECKPOINTER_KEY] = Checkpointer(tuned, keyring)
    path = Path(settings.audit_checkpoint_file)
    commit_events(db, 1)  # the bootstrap's event: the file is new
    commit_events(db, 2)  # 2..3, seconds later: signed at once, although the file is fresh
    commit_events(db, 1)  # 4
    commit_events(db, 3)  # 5..7: starts inside the first 6
    commit_events(db, 2)  # 8..9: past them, back to every N events or M seconds
    assert seqs_in(path) == [1, 3, 4, 7]
    report = verify_log(db.connection(), settings, keyring)
    assert (report.valid, report.checkpoints_checked, report.events_checked) == (True, 4, 9)


def test_a_checkpoint_is_written_when_the_last_one_is_older_than_m_seconds(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    tuned = settings.model_copy(
        update={"audit_checkpoint_every_events": 1000, "audit_checkpoint_every_seconds": 60}
    )
    db.info[CHECKPOINTER_KEY] = Checkpointer(tuned, keyring)
    path = Path(settings.audit_checkpoint_file)
    commit_events(db, 1)
    commit_events(db, 1)
    assert seqs_in(path) == [1]
    long_ago = time.time() - 61
    os.utime(path, (long_ago, long_ago))
    commit_events(db, 2)
    commit_events(db, 1)
    assert seqs_in(path) == [1, 4]


def test_a_failing_checkpoint_does_not_undo_the_committed_events(
    db: Session,
    settings: Settings,
    keyring: Keyring,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    db.info[CHECKPOINTER_KEY] = Checkpointer(
        settings.model_copy(update={"audit_checkpoint_file": not_a_folder / "cp.jsonl"}), keyring
    )
    with caplog.at_level(logging.ERROR, logger="haven.audit"):
        commit_events(db, 2)
    assert db.scalars(select(AuditEvent.seq)).all() == [1, 2]
    assert "could not write an audit checkpoint" in caplog.text


def test_concurrent_writers_never_corrupt_the_file(settings: Settings, keyring: Keyring) -> None:
    path = Path(settings.audit_checkpoint_file)
    writers = 6
    each = 25

    def write(number: int) -> None:
        checkpointer = Checkpointer(settings, keyring)
        for i in range(each):
            checkpointer.write(number * 1000 + i + 1, f"{number:02d}" * 32)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = list(read_checkpoints(path))
    assert len(lines) == writers * each
    assert all(line.checkpoint is not None for line in lines)
    for line in lines:
        checkpoint = line.checkpoint
        assert checkpoint is not None
        assert verify_signature(checkpoint.public_key, checkpoint.message(), checkpoint.signature)
    assert sorted(seqs_in(path)) == sorted(
        n * 1000 + i + 1 for n in range(writers) for i in range(each)
    )


class _Collector(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/checkpoints"
    server.shutdown()
    server.server_close()


def test_each_checkpoint_is_also_posted_to_the_url(
    settings: Settings, keyring: Keyring, collector: str
) -> None:
    checkpointer = Checkpointer(
        settings.model_copy(update={"audit_checkpoint_url": collector}), keyring
    )
    written = checkpointer.write(7, "ab" * 32)
    assert written is not None
    assert _Collector.received == [written.to_json()]


def test_an_unreachable_url_is_logged_not_fatal(
    settings: Settings, keyring: Keyring, collector: str, caplog: pytest.LogCaptureFixture
) -> None:
    dead = collector.rsplit(":", 1)[0] + ":1/checkpoints"
    checkpointer = Checkpointer(settings.model_copy(update={"audit_checkpoint_url": dead}), keyring)
    with caplog.at_level(logging.WARNING, logger="haven.audit.checkpoints"):
        assert checkpointer.write(3, "cd" * 32) is not None
    assert seqs_in(Path(settings.audit_checkpoint_file)) == [3]
    assert "could not be posted" in caplog.text
