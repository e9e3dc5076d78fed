"""A database that refuses connections is reported as such, naming the cause, never as a
database without Haven's schema ("run `haven migrate` first")."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from models.db import make_engine
from services.cli import app
from tests.live import free_port

runner = CliRunner()


def _env(url: str, folder: Path) -> dict[str, str]:
    return {
        "HAVEN_DATABASE_URL": url,
        "HAVEN_KEY_FILE": str(folder / "keyring.json"),
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(folder / "checkpoints.jsonl"),
    }


@pytest.mark.postgres_only
def test_a_full_connection_table_is_named_not_taken_for_a_missing_schema(
    database_url: str, tmp_path: Path
) -> None:
    role = f"haven_full_{uuid.uuid4().hex[:8]}"
    admin = make_engine(database_url)
    with admin.begin() as connection:  # a role allowed no connection: the server refuses it
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0'))
    try:
        url = make_url(database_url).set(username=role).render_as_string(hide_password=False)
        result = runner.invoke(app, ["audit", "verify"], env=_env(url, tmp_path))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()
    assert result.exit_code == 1
    assert "connection limit" in result.output
    assert "too many connections" in result.output  # the server's own words, too
    assert "migrate" not in result.output


def test_a_database_that_is_down_is_named_not_taken_for_a_missing_schema(
    tmp_path: Path,
) -> None:
    url = f"postgresql+psycopg://haven@127.0.0.1:{free_port()}/haven"  # nothing listens there
    result = runner.invoke(app, ["audit", "verify"], env=_env(url, tmp_path))
    assert result.exit_code == 1
    assert "cannot reach its database" in result.output
    assert "migrate" not in result.output
    assert not (tmp_path / "keyring.json").exists()  # and nothing was created beside it
