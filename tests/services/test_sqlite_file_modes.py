"""The SQLite database file and the -wal and -shm files beside it are readable by Haven's user
only (0600), whatever the umask, and files left looser by an earlier version are tightened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import make_engine


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default umask (0022), under which files are created world-readable."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:  # WAL mode: -wal and -shm are open now
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() >= 1
            for suffix in ("", "-wal", "-shm"):
                companion = path.with_name(path.name + suffix)
                assert companion.exists(), suffix
                assert _mode(companion) == 0o600, (suffix, oct(_mode(companion)))
    finally:
        engine.dispose()


@pytest.mark.usefixtures("loose_umask")
def test_a_new_database_and_its_wal_and_shm_are_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "new" / "haven.db"
    _write(path)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700  # the folder made for it, too


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_loose_database_is_tightened_on_connect(tmp_path: Path) -> None:
    path = tmp_path / "haven.db"
    _write(path)
    for suffix in ("", "-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.chmod(0o644)
    _write(path)
    assert _mode(path) == 0o600
