"""Only `haven migrate` creates a keyring, and only for a database holding no data keys; `haven
serve` proves its keyring before any worker starts, refuses once (no restart loop), and a
refused start leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app
from services.config import Settings
from services.crypto import create_data_key, init_keyring
from services.runtime import Runtime
from tests.databases import empty_database
from tests.keyrings import is_pkcs11

pytestmark = pytest.mark.skipif(
    is_pkcs11(), reason="the key file's custody; a token's is tested in tests/pkcs11"
)

runner = CliRunner()
HAVEN = str(Path(sys.executable).with_name("haven"))
UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:9/haven"  # the discard port: refused


def _env(url: str, folder: Path) -> dict[str, str]:
    return {
        "HAVEN_DATABASE_URL": url,
        "HAVEN_KEY_FILE": str(folder / "keys" / "keyring.json"),
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(folder / "checkpoints.jsonl"),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [HAVEN, "serve", "--port", str(_free_port()), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        pytest.fail(f"`haven serve` did not refuse within {timeout} s: {err[-2000:]}")
    return process.returncode, err


# --- haven migrate ---------------------------------------------------------------------------


def test_migrate_creates_the_keyring_0600_on_an_empty_database_once(tmp_path: Path) -> None:
    with empty_database() as url:
        env = _env(url, tmp_path)
        first = runner.invoke(app, ["migrate"], env=env)
        assert first.exit_code == 0, first.output
        path = tmp_path / "keys" / "keyring.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        before = path.read_bytes()
        again = runner.invoke(app, ["migrate"], env=env)
        assert again.exit_code == 0, again.output
        assert path.read_bytes() == before


def test_migrate_refuses_to_create_a_keyring_for_a_database_holding_data_keys(
    fresh_runtime: Runtime, tmp_path: Path
) -> None:
    with fresh_runtime.session_factory() as session, session.begin():
        create_data_key(session, fresh_runtime.keyring)
    env = _env(fresh_runtime.settings.database_url, tmp_path)
    result = runner.invoke(app, ["migrate"], env=env)
    assert result.exit_code == 1
    assert "holds 1 data key(s)" in result.output and "Restore the keyring" in result.output
    assert not (tmp_path / "keys").exists()


def test_migrate_with_the_database_down_creates_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["migrate"], env=_env(UNREACHABLE_PG, tmp_path))
    assert result.exit_code == 1
    assert "cannot connect" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "keys").exists()


# --- haven serve: refuse once, before the workers, leaving nothing behind ---------------------


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_with_the_database_down_and_no_keyring_refuses_once_and_creates_nothing(
    tmp_path: Path, workers: str
) -> None:
    """The fault that made every worker create its own keyring: now one refusal, no file."""
    started = time.monotonic()
    code, err = _finish(_serve(_env(UNREACHABLE_PG, tmp_path), "--workers", workers))
    assert code == 1, err
    assert time.monotonic() - started < 30
    assert err.count("Haven cannot start") + err.count("keyring refused") == 1, err
    assert "Started parent process" not in err and "Started server process" not in err
    assert not (tmp_path / "keys").exists()


@pytest.mark.slow
def test_serve_with_no_keyring_refuses_once_and_creates_nothing(tmp_path: Path) -> None:
    with empty_database() as url:
        env = _env(url, tmp_path)
        assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
        key_file = tmp_path / "keys" / "keyring.json"
        key_file.unlink()
        code, err = _finish(_serve(env, "--workers", "2"))
        assert code == 1, err
        assert err.count("keyring refused") == 1 and "does not exist" in err, err
        assert "Started parent process" not in err
        assert not key_file.exists()


@pytest.mark.slow
def test_serve_workers_2_with_a_keyring_that_does_not_match_refuses_once(
    fresh_runtime: Runtime, tmp_path: Path
) -> None:
    with fresh_runtime.session_factory() as session, session.begin():
        create_data_key(session, fresh_runtime.keyring)
    env = _env(fresh_runtime.settings.database_url, tmp_path)
    init_keyring(Settings(key_file=Path(env["HAVEN_KEY_FILE"])))  # a keyring, but not this one
    code, err = _finish(_serve(env, "--workers", "2"))
    assert code == 1, err
    assert err.count("keyring refused") == 1, err
    assert "cannot unwrap the database's data keys" in err
    assert "Started parent process" not in err
