"""Databases of the bench's own: created when absent, seeded once, cached behind a marker file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.config import CACHE_DIR, PG_SERVER, REPO_DIR, database_url


def libpq_dsn(name: str) -> str:
    """A libpq connection string for database `name` on the bench's server."""
    url = make_url(database_url(name))
    parts = [f"dbname={name}", f"host={url.host or '127.0.0.1'}", f"port={url.port or 5432}"]
    parts.append(f"user={url.username or 'postgres'}")
    if url.password:
        parts.append(f"password={url.password}")
    return " ".join(parts)


def server_dsn() -> str:
    url = make_url(PG_SERVER + "/postgres")
    return libpq_dsn(url.database or "postgres")


def database_exists(name: str) -> bool:
    with psycopg.connect(server_dsn(), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def recreate_database(name: str) -> None:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    with psycopg.connect(server_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def source_fingerprint(paths: list[str]) -> str:
    """SHA-256 over the named source files/folders: a change of schema or encryption code there
    means the cached dataset no longer matches the product, so it is seeded again."""
    digest = hashlib.sha256()
    for rel in paths:
        root = REPO_DIR / rel
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            if path.exists():
                digest.update(str(path.relative_to(REPO_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def marker_path(name: str) -> Path:
    return CACHE_DIR / f"{name}.marker.json"


def read_marker(name: str) -> dict[str, Any] | None:
    path = marker_path(name)
    if not path.exists() or not database_exists(name):
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except ValueError:
        return None
    return data


def write_marker(name: str, marker: dict[str, Any]) -> None:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    marker_path(name).write_text(json.dumps(marker, indent=2, sort_keys=True))


def drop_marker(name: str) -> None:
    marker_path(name).unlink(missing_ok=True)
