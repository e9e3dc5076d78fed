"""Measure what the chain costs writers: `python -m bench.audit_chain [--server URL]`.

Not a test and not part of the service: a small experiment behind the audit chain's design
(docs/audit.md). On a scratch PostgreSQL database it runs the same workload three ways, each
with several writer processes; one transaction = one row update (the "business change") + one
audit event:

- `unchained`: the event gets its `seq` from a bare sequence, no hash (the baseline; gaps are
  possible, which is why the real log never does this);
- `lock-at-commit`: the real `services.audit.record()` + the `before_commit` hook: after the
  transaction's own writes, one call (`haven_audit_append`) takes the advisory lock, reads the
  head, hashes and inserts with `seq = last + 1`; the COMMIT releases the lock;
- `lock-round-trips`: the same design done from Python (lock, read the head, insert: three round
  trips under the lock before the COMMIT), the first version of Haven's hook;
- `sealer`: the event is inserted unchained (no seq, no hash) in the writer's transaction and one
  separate sealer process chains visible rows in batches (lock, read the unsealed rows in id
  order, assign seq and hash, update, commit). Writers never wait for the chain, but rows stay
  unsealed for a while (the lag is reported) and the table must allow one UPDATE per row.

It prints transactions per second for each and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import secrets
import time
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from models.base import utcnow
from services.actions import Action
from services.audit.chain import CHAINED_COLUMNS, GENESIS_HASH, tuple_hash

SCRATCH = MetaData()
WORK = Table("measure_work", SCRATCH, Column("id", Integer, primary_key=True), Column("n", Integer))
UNCHAINED = Table(
    "measure_unchained",
    SCRATCH,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("seq", BigInteger, unique=True),
    Column("body", Text),
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
)
ROWS = 64


def _event() -> dict[str, Any]:
    case_id = uuid.uuid4()
    return {
        "at": utcnow(),
        "actor_type": "user",
        "actor_id": uuid.uuid4(),
        "actor_role": "caseworker",
        "actor_scopes": None,
        "actor_agency_id": uuid.uuid4(),
        "action": "case.update",
        "resource_type": "case",
        "resource_id": str(case_id),
        "case_id": case_id,
        "fields": '["narrative"]',
        "outcome": "success",
        "client_address": "10.0.0.1",
        "request_id": secrets.token_hex(8),
        "detail": None,
    }


def _touch(session: Session, worker: int, i: int) -> None:
    row = (worker * 7 + i) % ROWS + 1
    session.execute(update(WORK).where(WORK.c.id == row).values(n=WORK.c.n + 1))


def _writer(url: str, variant: str, worker: int, count: int, barrier: Any, finished: Any) -> None:
    from models.db import make_engine, make_session_factory

    engine = make_engine(url, pool_size=2, max_overflow=0)
    factory = make_session_factory(engine)
    if variant == "lock-at-commit":
        from services import audit

        audit.install_chain_hook()
    barrier.wait()
    for i in range(count):
        with factory() as session, session.begin():
            _touch(session, worker, i)
            if variant == "lock-at-commit":
                from services import audit

                audit.record(session, None, Action.CASE_UPDATE, resource_type="case", resource_id=i)
            elif variant == "lock-round-trips":
                # The first form of lock at commit: lock, read the head, insert, each a round
                # trip from Python while the lock is held.
                session.execute(text("SELECT pg_advisory_xact_lock(4343)"))
                head = session.execute(
                    select(UNCHAINED.c.seq, UNCHAINED.c.hash)
                    .where(UNCHAINED.c.seq.is_not(None))
                    .order_by(UNCHAINED.c.seq.desc())
                    .limit(1)
                ).first()
                seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)
                body = repr(_event())
                digest = hashlib.sha256(f"{body}{seq + 1}{prev}".encode()).hexdigest()
                session.execute(
                    insert(UNCHAINED).values(seq=seq + 1, body=body, prev_hash=prev, hash=digest)
                )
            elif variant == "unchained":
                values = _event()
                session.execute(
                    insert(UNCHAINED).values(
                        seq=text("nextval('measure_seq')"), body=repr(values), hash=""
                    )
                )
            else:  # sealer: inserted without a position; the sealer chains it later
                session.execute(insert(UNCHAINED).values(body=repr(_event())))
    finished[worker] = time.time()
    engine.dispose()


def _sealer(url: str, total: int, batch: int, done: Any) -> None:
    engine = create_engine(url)
    prev, seq = GENESIS_HASH, 0
    while seq < total:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            rows = conn.execute(
                select(UNCHAINED.c.id, UNCHAINED.c.body)
                .where(UNCHAINED.c.seq.is_(None))
                .order_by(UNCHAINED.c.id)
                .limit(batch)
            ).all()
            updates = []
            for row_id, body in rows:
                seq += 1
                values = dict.fromkeys(CHAINED_COLUMNS, body)
                values.update(seq=seq, at=utcnow(), prev_hash=prev)
                for name in ("actor_id", "actor_agency_id", "case_id"):
                    values[name] = None
                prev = tuple_hash([values[name] for name in CHAINED_COLUMNS])
                updates.append({"row_id": row_id, "s": seq, "p": values["prev_hash"], "h": prev})
            if updates:
                conn.execute(
                    text(
                        "UPDATE measure_unchained SET seq = :s, prev_hash = :p, hash = :h "
                        "WHERE id = :row_id"
                    ),
                    updates,
                )
        if not rows:
            time.sleep(0.005)
    done.value = time.time()
    engine.dispose()


def _prepare(engine: Engine) -> None:
    from services.database import migrate

    migrate(engine)
    SCRATCH.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE IF NOT EXISTS measure_seq"))
        conn.execute(insert(WORK), [{"id": i, "n": 0} for i in range(1, ROWS + 1)])


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE audit_events, measure_unchained"))


def run(server: str, writers: int, each: int) -> dict[str, float]:
    base = make_url(server).set(drivername="postgresql+psycopg")
    name = f"haven_measure_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    results: dict[str, float] = {}
    try:
        _prepare(engine)
        context = multiprocessing.get_context("spawn")
        variants = ("unchained", "lock-at-commit", "lock-round-trips", "sealer") * 2
        for variant in variants:
            _reset(engine)
            barrier = context.Barrier(writers + 1)
            finished = context.Array("d", writers)
            procs = [
                context.Process(target=_writer, args=(url, variant, n, each, barrier, finished))
                for n in range(writers)
            ]
            sealed = context.Value("d", 0.0)
            sealer = None
            if variant == "sealer":
                sealer = context.Process(target=_sealer, args=(url, writers * each, 500, sealed))
                sealer.start()
            for proc in procs:
                proc.start()
            barrier.wait()
            wall = time.time()
            for proc in procs:
                proc.join()
            elapsed = max(finished[:]) - wall
            rate = writers * each / elapsed
            results[variant] = max(results.get(variant, 0.0), rate)
            line = f"{variant:15s} {rate:8.0f} tx/s"
            if sealer is not None:
                sealer.join()
                line += f"   (all sealed {sealed.value - wall - elapsed:+.2f} s after the writers)"
            print(line, flush=True)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    baseline = results["unchained"]
    for variant, rate in results.items():
        print(f"best {variant:15s} {rate:8.0f} tx/s  ratio {rate / baseline:.2f}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--each", type=int, default=300)
    args = parser.parse_args()
    run(args.server, args.writers, args.each)


if __name__ == "__main__":
    main()
