"""`haven serve` refuses what cannot work, in one line naming the fix, before any worker starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from models.db import make_engine
from services.cli import app
from services.config import DATABASE_URL_SCHEMES, Settings, format_settings_error
from services.database import alembic_config, migrate
from tests.databases import empty_database

runner = CliRunner()


def _env(url: str, folder: Path) -> dict[str, str]:
    return {
        "HAVEN_DATABASE_URL": url,
        "HAVEN_KEY_FILE": str(folder / "keyring.json"),
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(folder / "checkpoints.jsonl"),
        # A port nobody listens on: if the pre-flight let the server start, the test would hang
        # rather than pass, and the assertions below would never see exit code 1.
        "HAVEN_PORT": "1",
    }


def _refusal(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Haven cannot start: "), output
    return lines[0]


def test_serve_refuses_an_unmigrated_database_naming_haven_migrate(tmp_path: Path) -> None:
    with empty_database() as url:
        engine = make_engine(url)  # on SQLite: an existing, empty database file
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        result = runner.invoke(app, ["serve"], env=_env(url, tmp_path))
    assert result.exit_code == 1
    line = _refusal(result.output)
    assert "no Haven schema" in line and "`haven migrate`" in line
    assert not (tmp_path / "keyring.json").exists(), "the pre-flight must create no keyring"


def test_serve_refuses_a_database_behind_the_newest_schema(tmp_path: Path) -> None:
    with empty_database() as url:
        engine = make_engine(url)
        try:
            script = ScriptDirectory.from_config(alembic_config(engine))
            head = script.get_current_head()
            assert head is not None
            previous = script.get_revision(head).down_revision
            assert isinstance(previous, str)
            migrate(engine, previous)
        finally:
            engine.dispose()
        result = runner.invoke(app, ["serve"], env=_env(url, tmp_path))
    assert result.exit_code == 1
    line = _refusal(result.output)
    assert f"revision {previous}" in line and head in line and "`haven migrate`" in line


def test_serve_refuses_a_missing_sqlite_file_without_creating_it(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "haven.db"
    result = runner.invoke(app, ["serve"], env=_env(f"sqlite:///{target}", tmp_path))
    assert result.exit_code == 1
    assert "`haven migrate`" in _refusal(result.output)
    assert not target.exists()


def test_serve_refuses_an_unreachable_database_in_one_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://haven:s3cret@127.0.0.1:1/haven"
    result = runner.invoke(app, ["serve"], env=_env(url, tmp_path))
    assert result.exit_code == 1
    line = _refusal(result.output)
    assert "Cannot connect to the database" in line and "HAVEN_DATABASE_URL" in line
    assert "s3cret" not in line, "the password must not be echoed"


@pytest.mark.parametrize("scheme", DATABASE_URL_SCHEMES)
def test_every_scheme_the_error_names_is_accepted(scheme: str) -> None:
    url = f"{scheme}///tmp/x.db" if scheme == "sqlite:" else f"{scheme}//u@h/db"
    assert Settings(database_url=url).database_url == url


def test_the_url_error_names_every_accepted_scheme() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(database_url="mysql://u@h/db")
    message = format_settings_error(raised.value)
    assert "HAVEN_DATABASE_URL" in message
    for scheme in DATABASE_URL_SCHEMES:
        assert f"{scheme}//" in message


@pytest.mark.parametrize("password", ["p@ss:w/o#rd", "100%/x?y=z", "plain"])
def test_a_password_given_apart_from_the_url_survives_any_character(
    password: str, tmp_path: Path
) -> None:
    base = "postgresql+psycopg://haven_app@db:5432/haven"
    direct = Settings(database_url=base, database_password=password)
    secret = tmp_path / "password"
    secret.write_text(password + "\n", encoding="utf-8")
    from_file = Settings(database_url=base, database_password_file=secret)
    for settings in (direct, from_file):
        url = make_url(settings.database_url)
        assert (url.password, url.username, url.host, url.database) == (
            password,
            "haven_app",
            "db",
            "haven",
        )
        assert password not in repr(settings)
