"""Verify the audit chain: recompute every hash, in seq order, in batches, against checkpoints.

Streaming and constant memory: rows are read by keyset pagination (`seq > last ORDER BY seq LIMIT
batch`), and per row only the canonical encoding, one SHA-256 and a few comparisons are done.
Checks, in this order for each row:
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


# One streaming pass: each row's seq, prev_hash, hash and checkpoints are checked in the same
# loop iteration, so the branches share the running state rather than being split apart.
def verify_chain(  # noqa: C901
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
    seq_index = CHAINED_COLUMNS.index("seq")
    prev_index = CHAINED_COLUMNS.index("prev_hash")
    hash_index = len(CHAINED_COLUMNS)
    encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
    sha256 = hashlib.sha256
    wanted = checkpoints.by_seq

    expected = 1
    prev = GENESIS_HASH
    checked = 0
    last_good_checkpoint = 0
    bad: int | None = None
    reason: str | None = None
    while bad is None:
        rows = connection.execute(statement, {"after": expected - 1, "batch": batch_size}).all()
        if not rows:
            break
        for row in rows:
            seq = row[seq_index]
            if seq != expected:
                bad, reason = expected, f"seq {expected} is missing"
                break
            checked += 1
            if row[prev_index] != prev:
                bad, reason = seq, f"seq {seq} does not link to the previous event"
                break
            digest = sha256(encode([CHAIN_VERSION, *row[:hash_index]]).encode()).hexdigest()
            if digest != row[hash_index]:
                bad, reason = seq, f"seq {seq} does not match its hash"
                break
            if seq in wanted:
                if wanted[seq] != {digest}:
                    bad = last_good_checkpoint + 1
                    reason = f"seq {seq} differs from its signed checkpoint"
                    break
                last_good_checkpoint = seq
            prev = digest
            expected += 1
        if progress is not None:
            progress(checked)

    head = expected - 1
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
