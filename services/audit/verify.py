"""Verify the audit chain: recompute every hash, in seq order, in batches, against checkpoints.

Streaming and constant memory: rows are read by keyset pagination (`seq > last ORDER BY seq LIMIT
batch`), and per row only the canonical encoding, one SHA-256 and a few comparisons are done,
batch by batch (`_Walk`). Checks, in this order for each row:
1. its `seq` is the next one (1, 2, 3 ...): a deleted row or a renumbered one shows as a gap;
2. its `prev_hash` is the previous row's `hash`;
3. its `hash` is the SHA-256 of its canonical content (`services.audit.chain`);
4. when a signed checkpoint names this seq, the row's hash is the one that was signed.
The checkpoint file is read BEFORE the rows: every checkpoint in it was written after its row
committed, so all of them must be found. Afterwards, a checkpoint beyond the last row means the
tail was cut.

`first_invalid_seq` is the first seq that cannot be trusted:
- a gap, a broken link or a wrong hash: that row's seq (for a gap: the missing seq);
- a checkpoint whose hash differs from the row's (the chain was rewritten and re-hashed, so it is
  consistent in itself): the seq after the last checkpoint that still matched (or 1) — the
  rewrite happened somewhere in between, and the chain alone cannot say where;
- a cut tail: the first missing seq (last row + 1);
- a checkpoint signed by another key, or badly signed (someone wrote the checkpoint file): the
  seq it claims, at most last row + 1.

A malformed checkpoint line (a fragment left by a full disk or a crash mid-write, or anything else
that is not a checkpoint) claims nothing, so it says nothing about the chain: it is reported by
line number in `malformed_checkpoint_lines`, apart from `first_invalid_seq`, and the checkpoints
on the other lines are still used.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from models.audit import AuditEvent
from services.audit.chain import (
    CHAIN_VERSION,
    CHAINED_COLUMNS,
    GENESIS_HASH,
    canonical_select_columns,
)
from services.audit.checkpoints import read_checkpoints
from services.config import Settings
from services.crypto import Keyring, verify_signature

DEFAULT_BATCH = 5000

_SEQ = CHAINED_COLUMNS.index("seq")
_PREV = CHAINED_COLUMNS.index("prev_hash")
_HASH = len(CHAINED_COLUMNS)
"""Positions in a row as verify reads it: the canonical columns, then the stored `hash`."""
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_SHA256 = hashlib.sha256


def _digest(row: Sequence[Any]) -> str:
    """The hash a row should have: the canonical encoding (`services.audit.chain`) of its
    columns, which the database has already rendered as canonical text."""
    return _SHA256(_ENCODE([CHAIN_VERSION, *row[:_HASH]]).encode()).hexdigest()


@dataclass
class VerifyReport:
    valid: bool
    events_checked: int
    first_invalid_seq: int | None
    reason: str | None = None
    checkpoints_checked: int = 0
    head_seq: int = 0
    """The last seq that was checked and found valid (0 for an empty or broken-at-1 log)."""
    warnings: list[str] = field(default_factory=list)
    malformed_checkpoint_lines: list[int] = field(default_factory=list)
    """Line numbers of checkpoint-file lines that are not readable checkpoints (skipped)."""


@dataclass
class _Checkpoints:
    by_seq: dict[int, set[str]]
    problem_seq: int | None
    problem: str | None
    count: int
    malformed_lines: list[int]


def _load_checkpoints(path: Path | None, trusted_keys: frozenset[bytes]) -> _Checkpoints:
    by_seq: dict[int, set[str]] = {}
    problem_seq: int | None = None
    problem: str | None = None
    count = 0
    malformed: list[int] = []

    def flag(seq: int, why: str) -> None:
        nonlocal problem_seq, problem
        if problem_seq is None or seq < problem_seq:
            problem_seq, problem = seq, why

    if path is None:
        return _Checkpoints(by_seq, None, None, 0, malformed)
    for line in read_checkpoints(path):
        checkpoint = line.checkpoint
        if checkpoint is None:
            malformed.append(line.number)
            continue
        if checkpoint.public_key not in trusted_keys:
            flag(checkpoint.seq, f"checkpoint file line {line.number} is signed by an unknown key")
            continue
        if not verify_signature(checkpoint.public_key, checkpoint.message(), checkpoint.signature):
            flag(checkpoint.seq, f"checkpoint file line {line.number} has a bad signature")
            continue
        by_seq.setdefault(checkpoint.seq, set()).add(checkpoint.hash)
        count += 1
    return _Checkpoints(by_seq, problem_seq, problem, count, malformed)


class _Walk:
    """The running state of one pass over the chain, fed one batch of rows at a time.

    A batch is first checked whole, with list operations that run in C (the canonical hash of
    every row, then its seqs, links, hashes and checkpoints compared as lists): that is what lets
    verify keep up with a bare read-and-hash loop. Only when that finds something does the batch
    go again through `_rows`, one row at a time in the order the module docstring gives, to name
    the first finding exactly as it always has; both passes prove the same, the first only says
    "all of it" faster."""

    def __init__(self, wanted: dict[int, set[str]]) -> None:
        self.wanted = wanted
        self.wanted_seqs = sorted(wanted)
        self.expected = 1
        self.prev = GENESIS_HASH
        self.checked = 0
        self.last_good_checkpoint = 0
        self.bad: int | None = None
        self.reason: str | None = None

    def batch(self, rows: Sequence[Sequence[Any]]) -> None:
        """Check `rows` (canonical columns then `hash`, in seq order), continuing the chain."""
        first = self.expected
        count = len(rows)
        # `_digest` spelled out: a function call per row would cost as much as the hash itself.
        encode, sha256, version = _ENCODE, _SHA256, CHAIN_VERSION
        digests = [sha256(encode([version, *row[:_HASH]]).encode()).hexdigest() for row in rows]
        # The checkpoints falling inside this batch, if its seqs are what they should be.
        low = bisect_left(self.wanted_seqs, first)
        high = bisect_left(self.wanted_seqs, first + count)
        marked = self.wanted_seqs[low:high]
        if (
            [row[_SEQ] for row in rows] == list(range(first, first + count))
            and [row[_PREV] for row in rows] == [self.prev, *digests[:-1]]
            and [row[_HASH] for row in rows] == digests
            and all(self.wanted[seq] == {digests[seq - first]} for seq in marked)
        ):
            self.expected += count
            self.checked += count
            self.prev = digests[-1]
            if marked:
                self.last_good_checkpoint = marked[-1]
            return
        self._rows(rows)

    def _rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """One row at a time, stopping at the first finding (a batch known to hold one)."""
        for row in rows:
            seq = row[_SEQ]
            if seq != self.expected:
                self.bad, self.reason = self.expected, f"seq {self.expected} is missing"
                return
            self.checked += 1
            if row[_PREV] != self.prev:
                self.bad, self.reason = seq, f"seq {seq} does not link to the previous event"
                return
            digest = _digest(row)
            if digest != row[_HASH]:
                self.bad, self.reason = seq, f"seq {seq} does not match its hash"
                return
            if seq in self.wanted:
                if self.wanted[seq] != {digest}:
                    self.bad = self.last_good_checkpoint + 1
                    self.reason = f"seq {seq} differs from its signed checkpoint"
                    return
                self.last_good_checkpoint = seq
            self.prev = digest
            self.expected += 1


def verify_chain(
    connection: Connection,
    *,
    checkpoint_file: Path | None = None,
    trusted_keys: frozenset[bytes] = frozenset(),
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Recompute the chain read through `connection` and check it against the checkpoints."""
    checkpoints = _load_checkpoints(checkpoint_file, trusted_keys)
    table = AuditEvent.__table__
    statement = (
        select(*canonical_select_columns(connection.dialect.name), table.c.hash)
        .where(table.c.seq > bindparam("after"))
        .order_by(table.c.seq)
        .limit(bindparam("batch"))
    )
    walk = _Walk(checkpoints.by_seq)
    while walk.bad is None:
        rows = connection.execute(statement, {"after": walk.expected - 1, "batch": batch_size})
        batch = rows.all()
        if not batch:
            break
        walk.batch(batch)
        if progress is not None:
            progress(walk.checked)

    bad, reason, checked, wanted = walk.bad, walk.reason, walk.checked, walk.wanted
    head = walk.expected - 1
    if bad is None and wanted:
        beyond = max(wanted)
        if beyond > head:
            bad, reason = head + 1, f"the log ends at seq {head} but seq {beyond} was checkpointed"
    if checkpoints.problem_seq is not None:
        problem_seq = min(checkpoints.problem_seq, head + 1)
        if bad is None or problem_seq < bad:
            bad, reason = problem_seq, checkpoints.problem
    warnings = [
        f"checkpoint file line {number} is malformed (a torn write?) and was skipped"
        for number in checkpoints.malformed_lines
    ]
    if checkpoints.count == 0 and checked:
        warnings.append(
            "no signed checkpoint was found: a cut tail or a rewritten chain cannot be detected"
        )
    return VerifyReport(
        warnings=warnings,
        valid=bad is None,
        events_checked=checked,
        first_invalid_seq=bad,
        reason=reason,
        checkpoints_checked=checkpoints.count,
        head_seq=head if bad is None else min(head, bad - 1),
        malformed_checkpoint_lines=checkpoints.malformed_lines,
    )


def chain_length(connection: Connection) -> int:
    """The highest seq (the expected number of events), for progress bars."""
    return int(connection.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one())


def verify_log(
    connection: Connection,
    settings: Settings,
    keyring: Keyring,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Verify against this installation's checkpoint file, trusting the keyring's signing key."""
    return verify_chain(
        connection,
        checkpoint_file=Path(settings.audit_checkpoint_file),
        trusted_keys=frozenset({keyring.signing_public_key()}),
        batch_size=batch_size,
        progress=progress,
    )
