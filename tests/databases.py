"""Fresh, migrated test databases on the backend chosen by HAVEN_TEST_BACKEND.

`make test` runs the suite once with `sqlite` and once with `postgresql`. PostgreSQL tests create
their own databases on the server named by HAVEN_TEST_DATABASE_URL (default: the local server).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.db import make_engine
from services.database import migrate

BACKEND = os.environ.get("HAVEN_TEST_BACKEND", "sqlite")
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_server_url() -> str:
    return os.environ.get("HAVEN_TEST_DATABASE_URL") or DEFAULT_PG_SERVER


def is_postgres() -> bool:
    return BACKEND == "postgresql"


@contextmanager
def empty_database() -> Iterator[str]:
    """Yield the URL of a brand-new empty database, dropped afterwards."""
    if not is_postgres():
        with tempfile.TemporaryDirectory(prefix="haven-test-") as folder:
            yield f"sqlite:///{Path(folder) / 'haven.db'}"
        return
    server = make_url(pg_server_url()).set(drivername="postgresql+psycopg")
    name = f"haven_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_database() -> Iterator[str]:
    with empty_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        yield url


def _probe() -> int:
    """Exit 0 when the PostgreSQL server for tests answers (used by `make test`)."""
    import psycopg

    url = make_url(pg_server_url())
    try:
        psycopg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            dbname=url.database or "postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error:
        return 1
    return 0


if __name__ == "__main__":
    import sys

    if "--probe" in sys.argv:
        raise SystemExit(_probe())
