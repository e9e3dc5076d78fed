"""Database snapshots: SQLite through its online backup API, PostgreSQL through `pg_dump -Fc`
and `pg_restore`. Credentials reach the PostgreSQL tools in their environment (PGPASSWORD),
never on a command line another local user could read in the process list.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Engine

from models.db import normalise_url

SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
PG_TOOL_TIMEOUT_SECONDS = 3600


class SnapshotError(Exception):
    """The snapshot or its restore failed; the message says why (never a password)."""


def backend(url: URL) -> str:
    return "sqlite" if url.drivername.startswith("sqlite") else "postgresql"


def is_empty(engine: Engine) -> bool:
    """No tables at all (a brand-new database, the only kind a restore goes into)."""
    return not inspect(engine).get_table_names()


# --- SQLite --------------------------------------------------------------------------------


def sqlite_snapshot(url: URL, target: Path) -> None:
    """A consistent copy while the server runs (SQLite's online backup API)."""
    source = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(target)
        try:
            with destination:
                source.backup(destination)
            destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            destination.close()
    finally:
        source.close()


def sqlite_restore(snapshot: Path, url: URL) -> None:
    target = Path(str(url.database))
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(target)
        try:
            with destination:
                source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    target.chmod(0o600)


# --- PostgreSQL ----------------------------------------------------------------------------


def _libpq_environment(url: URL) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    parts = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": url.database,
    }
    env.update({k: v for k, v in parts.items() if v})
    return env


_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def tool_version(tool: str) -> tuple[int, int]:
    """(major, minor) of a PostgreSQL client tool."""
    out = subprocess.run(  # noqa: S603 (a fixed tool path, no shell)
        [tool, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    match = _VERSION.search(out)
    if match is None:
        raise SnapshotError(f"cannot read the version of {tool}: {out.strip()!r}")
    return int(match.group(1)), int(match.group(2) or 0)


def server_version(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    return number // 10000, number % 10000


def find_tool(name: str, server_major: int) -> str:
    """The client tool for this server's major version: Debian keeps one per version under
    /usr/lib/postgresql/<major>/bin (the one on PATH may be another version)."""
    versioned = Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")
    if versioned.is_file():
        return str(versioned)
    found = shutil.which(name)
    if found is None:
        raise SnapshotError(
            f"{name} is not installed: install the PostgreSQL {server_major} client tools"
        )
    return found


def check_tool(tool: str, server: tuple[int, int]) -> tuple[int, int]:
    """A dump is only safe with a client at least as new as the server's major version."""
    client = tool_version(tool)
    if client[0] < server[0]:
        raise SnapshotError(
            f"{tool} is version {client[0]}.{client[1]} but the server is {server[0]}.{server[1]}:"
            f" install the PostgreSQL {server[0]} client tools"
        )
    return client


def _run(command: list[str], url: URL, what: str) -> None:
    done = subprocess.run(  # noqa: S603 (fixed tool paths, no shell)
        command,
        env=_libpq_environment(url),
        capture_output=True,
        text=True,
        timeout=PG_TOOL_TIMEOUT_SECONDS,
    )
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise SnapshotError(f"{what} failed: {first}")


def postgres_snapshot(engine: Engine, url: URL, target: Path) -> dict[str, str]:
    server = server_version(engine)
    tool = find_tool("pg_dump", server[0])
    client = check_tool(tool, server)
    # -Fc: compressed custom format, one consistent snapshot (a repeatable-read transaction).
    _run([tool, "--format=custom", "--no-password", f"--file={target}"], url, "pg_dump")
    return {
        "server_version": f"{server[0]}.{server[1]}",
        "pg_dump_version": f"{client[0]}.{client[1]}",
    }


def postgres_restore(engine: Engine, snapshot: Path, url: URL) -> None:
    server = server_version(engine)
    tool = find_tool("pg_restore", server[0])
    check_tool(tool, server)
    # Objects end up owned by the restoring role (HAVEN_DATABASE_URL's user); privileges are
    # not restored: grant the application role its rights again afterwards, as after migrate.
    _run(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={url.database}",
            str(snapshot),
        ],
        url,
        "pg_restore",
    )


def database_url(raw: str) -> URL:
    return normalise_url(raw)
