"""After a concurrent-writer run: is the chain still one line? (no fork, no gap, hashes right)

Checks the events appended since `after_seq`, with the same canonical encoding `verify` uses:
every seq follows the previous one, each `prev_hash` is the previous row's `hash`, and each
`hash` is the SHA-256 of the row's canonical bytes. Two writers that chained onto the same head
(a fork) would collide on `seq` (primary key) or break a link here.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from models.audit import AuditEvent
from services.audit.chain import CHAIN_VERSION, CHAINED_COLUMNS, canonical_select_columns


def head_seq(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
        )


def wait_sealed(engine: Engine, timeout: float = 60.0) -> float:
    """Seconds until no event is waiting for its chain position (always 0 while events are
    chained in the request itself; with a sealer, how far the chain lags behind)."""
    table = AuditEvent.__table__
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with engine.connect() as connection:
            waiting = connection.execute(
                select(func.count()).select_from(table).where(table.c.seq.is_(None))
            ).scalar_one()
        if not waiting:
            break
        time.sleep(0.05)
    return time.perf_counter() - started


def check_since(engine: Engine, after_seq: int) -> dict[str, Any]:
    lag = wait_sealed(engine)
    table = AuditEvent.__table__
    encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
    prev_index = CHAINED_COLUMNS.index("prev_hash")
    hash_index = len(CHAINED_COLUMNS)
    with engine.connect() as connection:
        prev = connection.execute(select(table.c.hash).where(table.c.seq == after_seq)).scalar()
        rows = connection.execute(
            select(*canonical_select_columns("postgresql"), table.c.hash)
            .where(table.c.seq > after_seq)
            .order_by(table.c.seq)
        ).all()
    expected = after_seq + 1
    problem = None
    for row in rows:
        if row[0] != expected:
            problem = f"gap: seq {expected} missing"
            break
        if prev is not None and row[prev_index] != prev:
            problem = f"fork: seq {row[0]} does not link to seq {row[0] - 1}"
            break
        digest = hashlib.sha256(encode([CHAIN_VERSION, *row[:hash_index]]).encode()).hexdigest()
        if digest != row[hash_index]:
            problem = f"seq {row[0]} does not match its hash"
            break
        prev = digest
        expected += 1
    return {
        "events_checked": len(rows),
        "from_seq": after_seq + 1,
        "to_seq": expected - 1,
        "intact": problem is None,
        "seal_wait_seconds": round(lag, 3),
        "problem": problem,
    }
