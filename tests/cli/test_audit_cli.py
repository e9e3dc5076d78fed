"""`haven audit verify` and `haven audit checkpoint` against a real database."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from services import audit
from services.actions import Action
from services.cli import app
from services.cli import audit as audit_cli
from services.runtime import Runtime
from tests.databases import is_postgres

runner = CliRunner()


@pytest.fixture
def env(fresh_runtime: Runtime) -> dict[str, str]:
    settings = fresh_runtime.settings
    return {
        "HAVEN_DATABASE_URL": settings.database_url,
        "HAVEN_KEY_FILE": str(settings.key_file),
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(settings.audit_checkpoint_file),
        "HAVEN_AUDIT_CHECKPOINT_EVERY_EVENTS": "1000",
    }


def append(runtime: Runtime, count: int) -> None:
    with runtime.session_factory() as session, session.begin():
        for _ in range(count):
            audit.record(
                session,
                None,
                Action.AUTH_LOGIN_FAILED,
                resource_type="user",
                resource_id=uuid.uuid4(),
            )


def tamper(runtime: Runtime, statement: str) -> None:
    """As a DBA: with the insert-only triggers off."""
    with runtime.engine.begin() as conn:
        if is_postgres():
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        conn.execute(text(statement))


def test_an_empty_log_verifies_and_has_nothing_to_sign(env: dict[str, str]) -> None:
    signed = runner.invoke(app, ["audit", "checkpoint"], env=env)
    assert signed.exit_code == 0, signed.output
    assert "nothing to sign" in signed.output
    verified = runner.invoke(app, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "events_checked: 0" in verified.output


def test_verify_passes_on_an_intact_log_and_fails_naming_the_first_bad_seq(
    fresh_runtime: Runtime, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_cli, "PROGRESS_FROM", 0)  # exercise the progress bar too
    append(fresh_runtime, 12)
    verified = runner.invoke(app, ["audit", "verify", "--batch-size", "100"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "events_checked: 12" in verified.output

    tamper(fresh_runtime, "UPDATE audit_events SET outcome = 'error' WHERE seq = 9")
    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1, broken.output
    assert "first_invalid_seq: 9" in broken.output


def test_checkpoint_signs_the_head_so_a_cut_tail_is_caught(
    fresh_runtime: Runtime, env: dict[str, str]
) -> None:
    append(fresh_runtime, 5)  # the first commit of a log is checkpointed at once (seq 5)
    append(fresh_runtime, 5)
    signed = runner.invoke(app, ["audit", "checkpoint"], env=env)
    assert signed.exit_code == 0, signed.output
    assert "seq 10" in signed.output
    lines = Path(env["HAVEN_AUDIT_CHECKPOINT_FILE"]).read_text().splitlines()
    assert [line.split('"seq":')[1].split(",")[0] for line in lines] == ["5", "10"]
    verified = runner.invoke(app, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "checkpoints_checked: 2" in verified.output

    tamper(fresh_runtime, "DELETE FROM audit_events WHERE seq > 7")
    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1, broken.output
    assert "first_invalid_seq: 8" in broken.output
