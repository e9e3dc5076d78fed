"""The SQLite datasets: copies of the PostgreSQL bench databases, for the runs on SQLite (the
embedded default).

Haven's copy is a file migrated with Haven's own migrations (SQLite flavour: its triggers and
CHECKs), then filled table by table from the PostgreSQL dataset through SQLAlchemy, so every
value is converted the way Haven itself stores it on SQLite. The audit chain is copied up to
`audit_events` events (a prefix of a chain is a chain) and its head signed into a checkpoint
file of its own. The baseline's copy is its schema (`create_all`) filled the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, func, insert, select, text
from sqlalchemy.engine import Engine

from bench.baseline.models import CASE_NUMBER_COUNTER
from bench.baseline.models import Base as BaselineBase
from bench.config import CACHE_DIR, database_url
from models.all import metadata as haven_metadata
from models.audit import AuditEvent
from models.db import make_engine
from services.audit.checkpoints import Checkpointer
from services.config import Settings
from services.crypto import Keyring
from services.database import migrate

BATCH = 5000


def sqlite_path(name: str) -> Path:
    return CACHE_DIR / f"{name}.sqlite3"


def sqlite_url(name: str) -> str:
    return f"sqlite:///{sqlite_path(name)}"


def _fresh(name: str) -> None:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path(name)}{suffix}").unlink(missing_ok=True)


def _copy_table(source: Engine, target: Engine, table: Table, where: Any = None) -> int:
    statement = select(table)
    if where is not None:
        statement = statement.where(where)
    copied = 0
    with source.connect() as reading, target.begin() as writing:
        result = reading.execution_options(stream_results=True, yield_per=BATCH).execute(statement)
        for rows in result.partitions(BATCH):
            writing.execute(insert(table), [row._asdict() for row in rows])
            copied += len(rows)
    return copied


def copy_haven(
    pg_name: str,
    name: str,
    settings: Settings,
    keyring: Keyring,
    audit_events: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    _fresh(name)
    target = make_engine(sqlite_url(name), sqlite_synchronous="NORMAL")
    migrate(target)
    source = make_engine(database_url(pg_name))
    counts: dict[str, int] = {}
    try:
        for table in haven_metadata.sorted_tables:
            where = table.c.seq <= audit_events if table.name == AuditEvent.__tablename__ else None
            counts[table.name] = _copy_table(source, target, table, where)
        with target.begin() as connection:
            head = connection.execute(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            ).one()
            connection.execute(text("ANALYZE"))
    finally:
        source.dispose()
        target.dispose()
    settings.audit_checkpoint_file.unlink(missing_ok=True)
    Checkpointer(settings, keyring).write(int(head.seq), str(head.hash))
    log(f"{name}: copied to SQLite {counts}")
    return counts


def copy_baseline(pg_name: str, name: str, log: Callable[[str], None]) -> dict[str, Any]:
    _fresh(name)
    target = create_engine(sqlite_url(name))
    BaselineBase.metadata.create_all(target)
    source = create_engine(database_url(pg_name))
    counts: dict[str, int] = {}
    try:
        for table in BaselineBase.metadata.sorted_tables:
            if table.name != CASE_NUMBER_COUNTER.name:
                counts[table.name] = _copy_table(source, target, table)
        with target.begin() as connection:
            cases = connection.execute(
                select(func.count()).select_from(BaselineBase.metadata.tables["cases"])
            ).scalar_one()
            connection.execute(insert(CASE_NUMBER_COUNTER), [{"id": 1, "value": cases + 1}])
            connection.execute(text("ANALYZE"))
    finally:
        source.dispose()
        target.dispose()
    log(f"{name}: copied to SQLite {counts}")
    return counts
