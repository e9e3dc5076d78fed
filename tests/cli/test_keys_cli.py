"""`haven keys status` and `haven keys rotate` against a real, migrated database."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from models.keys import DataKey
from services.cli import app
from services.crypto import create_data_key, load_data_keys, load_keyring
from services.runtime import Runtime
from tests.keyrings import is_pkcs11, settings_env

runner = CliRunner()


def _env(runtime: Runtime) -> dict[str, str]:
    settings = runtime.settings
    return {
        **settings_env(settings),
        "HAVEN_DATABASE_URL": settings.database_url,
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(settings.audit_checkpoint_file),
    }


def test_status_then_rotate_then_status(fresh_runtime: Runtime) -> None:
    factory, keyring = fresh_runtime.session_factory, fresh_runtime.keyring
    with factory() as session, session.begin():
        keys = dict(create_data_key(session, keyring) for _ in range(7))
    env = _env(fresh_runtime)

    before = runner.invoke(app, ["keys", "status"], env=env)
    assert before.exit_code == 0, before.output
    assert "current KEK version: 1" in before.output
    assert "      1          7  (current)" in before.output

    rotated = runner.invoke(app, ["keys", "rotate", "--batch-size", "3"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert "added KEK version 2" in rotated.output
    assert "re-wrapped 7 data key(s) in 3 batch(es)" in rotated.output

    after = runner.invoke(app, ["keys", "status"], env=env)
    assert after.exit_code == 0, after.output
    assert "      1          0" in after.output
    assert "      2          7  (current)" in after.output
    assert "unfinished" not in after.output

    with factory() as session:
        assert {row.kek_version for row in session.scalars(select(DataKey))} == {2}
        assert load_data_keys(session, load_keyring(fresh_runtime.settings), keys) == keys


@pytest.mark.skipif(is_pkcs11(), reason="the key file's mode: there is no key file with a token")
def test_a_world_readable_keyring_is_refused_with_a_clear_message(
    fresh_runtime: Runtime,
) -> None:
    path = Path(fresh_runtime.settings.key_file)
    path.chmod(0o644)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    result = runner.invoke(app, ["keys", "rotate"], env=_env(fresh_runtime))
    assert result.exit_code == 1
    assert "chmod 600" in result.output
    path.chmod(0o600)
    assert load_keyring(fresh_runtime.settings).kek_versions() == [1]


def test_retire_refuses_mid_rotation_then_retires_after_it(fresh_runtime: Runtime) -> None:
    factory, keyring = fresh_runtime.session_factory, fresh_runtime.keyring
    with factory() as session, session.begin():
        create_data_key(session, keyring)
    env = _env(fresh_runtime)
    nothing = runner.invoke(app, ["keys", "retire", "--yes"], env=env)
    assert nothing.exit_code == 0, nothing.output
    assert "nothing to retire" in nothing.output

    keyring.add_kek_version()  # rotation started, nothing re-wrapped yet
    refused = runner.invoke(app, ["keys", "retire", "--yes"], env=env)
    assert refused.exit_code == 1
    assert "run `haven keys rotate`" in refused.output
    assert load_keyring(fresh_runtime.settings).kek_versions() == [1, 2]

    assert runner.invoke(app, ["keys", "rotate"], env=env).exit_code == 0
    aborted = runner.invoke(app, ["keys", "retire"], input="n\n", env=env)
    assert aborted.exit_code == 1
    assert load_keyring(fresh_runtime.settings).kek_versions() == [1, 2]
    retired = runner.invoke(app, ["keys", "retire"], input="y\n", env=env)
    assert retired.exit_code == 0, retired.output
    assert "retired KEK version(s): 1" in retired.output
    assert load_keyring(fresh_runtime.settings).kek_versions() == [2]
    status = runner.invoke(app, ["keys", "status"], env=env)
    assert "retired KEK versions: 1" in status.output
