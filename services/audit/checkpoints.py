"""Signed checkpoints of the audit chain's head, kept outside the database.

A checkpoint signs `(seq, hash, at)` with the keyring's Ed25519 key. Each one is one JSON line
appended to `HAVEN_AUDIT_CHECKPOINT_FILE` (never rewritten; `O_APPEND`, an exclusive `fcntl` lock
around the write, `fsync`), and optionally POSTed to `HAVEN_AUDIT_CHECKPOINT_URL`. A line is
self-describing: `{"seq", "hash", "at", "alg", "key_id", "public_key", "signature"}`, so anyone
holding the public key can check it without Haven.

A short write must never damage the lines around it. A full disk can cut a line short, and a power
loss can leave a fragment at the end of the file. So a write (under the lock) first looks at the
file's last byte: after a fragment it starts a new line, so the new checkpoint is never glued onto
the fragment; and when its own write comes up short it cuts the file back to where it began. The
file is fsynced after every line and its folder when the file is created. A reader reports a
fragment as a malformed line (by number) and goes on: a line that says nothing proves nothing
either way, so it never marks the chain itself invalid (see `services.audit.verify`).

When are they written, with several stateless workers? After every commit that appended events,
the committing process (its `after_commit` hook) knows the `(first_seq, last_seq, last_hash)` it
has just written and checks, without a query:
- count: `(first_seq - 1) // N != last_seq // N` (this commit crossed a multiple of
  `HAVEN_AUDIT_CHECKPOINT_EVENTS`): exactly one commit crosses each multiple, so exactly one
  worker writes that checkpoint, whichever worker it is;
- a young chain: every commit that appends one of the first `HAVEN_AUDIT_CHECKPOINT_FIRST_EVENTS`
  events is signed at once. Otherwise a new installation's first events (the first logins, the
  first accounts) would be covered by nothing newer than the bootstrap checkpoint until the
  N-th event or M seconds later, the very minutes in which a cut would go unnoticed;
- time: the checkpoint file's modification time is older than `M` seconds
  (`HAVEN_AUDIT_CHECKPOINT_EVERY_SECONDS`). The file is the shared state, so no worker keeps any:
  the check is repeated under the file lock, so several workers noticing at once write once.
It signs its own last event, which is committed and therefore a true point of the chain. An idle
log gets no time-based checkpoint until the next event: operators run `haven audit checkpoint`
from cron (e.g. every 5 minutes) to sign the head of a quiet log.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.audit import AuditEvent
from models.base import utcnow
from services.config import Settings
from services.crypto import Keyring

log = logging.getLogger("haven.audit.checkpoints")

CHECKPOINT_DOMAIN = "haven-audit-checkpoint-v1"
ALGORITHM = "ed25519"
POST_TIMEOUT_SECONDS = 2.0


def signed_message(seq: int, hash_: str, at: str) -> bytes:
    """What a checkpoint's signature covers: domain tag, seq, hash, time, as compact JSON."""
    return json.dumps(
        [CHECKPOINT_DOMAIN, seq, hash_, at], ensure_ascii=True, separators=(",", ":")
    ).encode("ascii")


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    """RFC 3339 UTC time of signing (text, exactly as signed)."""
    public_key: bytes
    signature: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def message(self) -> bytes:
        return signed_message(self.seq, self.hash, self.at)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "alg": ALGORITHM,
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    def line(self) -> bytes:
        return (json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True) + "\n").encode(
            "ascii"
        )


class MalformedCheckpoint(ValueError):
    """A checkpoint line that cannot be read."""


def parse_line(text: str) -> Checkpoint:
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict) or raw.get("alg") != ALGORITHM:
            raise MalformedCheckpoint("not an ed25519 checkpoint")
        seq, hash_, at = raw["seq"], raw["hash"], raw["at"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise MalformedCheckpoint("seq is not a positive integer")
        if not isinstance(hash_, str) or len(hash_) != 64 or not isinstance(at, str):
            raise MalformedCheckpoint("hash or at is malformed")
        public_key = base64.b64decode(raw["public_key"], validate=True)
        signature = base64.b64decode(raw["signature"], validate=True)
    except MalformedCheckpoint:
        raise
    except (ValueError, KeyError, TypeError) as error:
        raise MalformedCheckpoint(str(error)) from None
    return Checkpoint(seq=seq, hash=hash_, at=at, public_key=public_key, signature=signature)


@dataclass(frozen=True)
class CheckpointLine:
    number: int
    """1-based line number in the file."""
    checkpoint: Checkpoint | None
    """None when the line is malformed (a fragment of a torn write, or not a checkpoint)."""


_LINE_START = b'{"alg":'
"""Every line this module writes starts so (`sort_keys`): used to find a checkpoint that an older
version appended directly onto a fragment, on the same line."""


def read_checkpoints(path: Path) -> Iterator[CheckpointLine]:
    """Every line of the checkpoint file, each parsed or flagged malformed (`checkpoint=None`),
    including a torn last line (no newline). A line that holds a fragment followed by a complete
    checkpoint (written by versions that did not start a new line after a fragment) yields the
    fragment as malformed and the checkpoint as good, both under that line's number."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            data = raw.strip()
            if not data:
                continue
            try:
                yield CheckpointLine(number, parse_line(data.decode("utf-8", errors="replace")))
                continue
            except MalformedCheckpoint:
                pass
            start = data.rfind(_LINE_START)
            if start > 0:
                try:
                    recovered = parse_line(data[start:].decode("utf-8", errors="replace"))
                except MalformedCheckpoint:
                    recovered = None
                if recovered is not None:
                    yield CheckpointLine(number, None)
                    yield CheckpointLine(number, recovered)
                    continue
            yield CheckpointLine(number, None)


def _append_line(fd: int, line: bytes) -> None:
    """Append one whole line to the locked file `fd` and fsync it, or leave the file as it was.

    After a fragment (the file does not end with a newline) the line starts on a new line. A short
    or failed write (a full disk) is cut back off, so the next checkpoint starts clean."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        line = b"\n" + line
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(errno.ENOSPC, "short write to the audit checkpoint file")
        os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
            os.fsync(fd)
        raise


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Checkpointer:
    """Signs chain heads and appends them to the checkpoint file (and the URL, if set)."""

    def __init__(self, settings: Settings, keyring: Keyring) -> None:
        self.path = Path(settings.audit_checkpoint_file)
        self.every_events = settings.audit_checkpoint_every_events
        self.first_events = settings.audit_checkpoint_first_events
        self.every_seconds = settings.audit_checkpoint_every_seconds
        self.url = settings.audit_checkpoint_url
        self.keyring = keyring

    # --- triggering ----------------------------------------------------------------------------

    def _stale(self) -> bool:
        try:
            modified = self.path.stat().st_mtime
        except FileNotFoundError:
            return True
        return time.time() - modified >= self.every_seconds

    def after_append(self, first_seq: int, last_seq: int, last_hash: str) -> Checkpoint | None:
        """Called after a commit appended `first_seq..last_seq`: checkpoint when due."""
        crossed = (first_seq - 1) // self.every_events != last_seq // self.every_events
        if crossed or first_seq <= self.first_events:
            return self.write(last_seq, last_hash)
        if self._stale():
            return self.write(last_seq, last_hash, only_if_stale=True)
        return None

    # --- signing and writing -------------------------------------------------------------------

    def sign(self, seq: int, hash_: str) -> Checkpoint:
        at = utcnow().astimezone(UTC).isoformat(timespec="microseconds")
        signature = self.keyring.sign(signed_message(seq, hash_, at))
        return Checkpoint(
            seq=seq,
            hash=hash_,
            at=at,
            public_key=self.keyring.signing_public_key(),
            signature=signature,
        )

    def write(self, seq: int, hash_: str, *, only_if_stale: bool = False) -> Checkpoint | None:
        """Sign `(seq, hash)` and append it; with `only_if_stale`, skip when another process
        wrote one in the meantime (checked under the lock)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if only_if_stale and not created and not self._stale_fd(fd):
                    return None
                checkpoint = self.sign(seq, hash_)
                _append_line(fd, checkpoint.line())
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        if created:
            _fsync_folder(self.path.parent)
        log.info("audit checkpoint written", extra={"seq": seq, "key_id": checkpoint.key_id})
        if self.url:
            self._post(checkpoint)
        return checkpoint

    def _stale_fd(self, fd: int) -> bool:
        stat = os.fstat(fd)
        return stat.st_size == 0 or time.time() - stat.st_mtime >= self.every_seconds

    def _post(self, checkpoint: Checkpoint) -> None:
        url = self.url or ""
        if not url.startswith(("https://", "http://")):
            log.error("audit checkpoint URL is not http(s); not posted")
            return
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            url,
            data=json.dumps(checkpoint.to_json()).encode("ascii"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as answer:  # noqa: S310
                status = answer.status
        except Exception as error:  # noqa: BLE001  posting is best effort, never fatal
            log.warning(
                "audit checkpoint could not be posted",
                extra={"seq": checkpoint.seq, "error": type(error).__name__},
            )
            return
        if status >= 300:
            log.warning("audit checkpoint post refused", extra={"status": status})

    def checkpoint_head(self, session: Session) -> Checkpoint | None:
        """Sign the current head now (`haven audit checkpoint`); None for an empty log."""
        head = session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        if head is None:
            return None
        return self.write(head[0], head[1])


def enable_checkpoints(session_factory: sessionmaker[Session], checkpointer: Checkpointer) -> None:
    """Make every session of this factory checkpoint after the commits that append events."""
    from services.audit.log import CHECKPOINTER_KEY

    info = dict(session_factory.kw.get("info") or {})
    info[CHECKPOINTER_KEY] = checkpointer
    session_factory.configure(info=info)
