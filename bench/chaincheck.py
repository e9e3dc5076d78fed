"""After a concurrent-writer run: is the chain still one line? (no fork, no gap, hashes right)

Runs Haven's own verifier (`services.audit.verify.verify_chain`, what `haven audit verify` runs)
over the whole chain, against the signed checkpoints, and reports how many events the run added.
A fork (two writers chaining onto the same head) shows as a duplicate `seq` (refused by the
primary key) or a broken link; a gap as a missing `seq`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from models.audit import AuditEvent
from services.audit.verify import verify_chain
from services.config import Settings
from services.crypto import Keyring


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


def check_since(
    engine: Engine, after_seq: int, settings: Settings, keyring: Keyring
) -> dict[str, Any]:
    lag = wait_sealed(engine)
    started = time.perf_counter()
    with engine.connect() as connection:
        report = verify_chain(
            connection,
            checkpoint_file=Path(settings.audit_checkpoint_file),
            trusted_keys=frozenset({keyring.signing_public_key()}),
        )
    head = head_seq(engine)
    return {
        "intact": report.valid,
        "events_checked": report.events_checked,
        "events_added_by_run": head - after_seq,
        "first_invalid_seq": report.first_invalid_seq,
        "problem": report.reason,
        "checkpoints_checked": report.checkpoints_checked,
        "verify_seconds": round(time.perf_counter() - started, 2),
        "seal_wait_seconds": round(lag, 3),
    }
