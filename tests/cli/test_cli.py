"""The `haven` command: migrate, bootstrap, settings errors, working from any directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.db import make_engine, make_session_factory
from models.identity import Agency, User
from services.cli import app
from services.crypto.passwords import verify_password
from tests.databases import empty_database

runner = CliRunner()
PASSWORD = "a sentence long enough to pass"


def _env(url: str, folder: Path) -> dict[str, str]:
    return {
        "HAVEN_DATABASE_URL": url,
        "HAVEN_KEY_FILE": str(folder / "keyring.json"),
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(folder / "checkpoints.jsonl"),
    }


def test_migrate_then_bootstrap_creates_the_system_agency_and_admin(tmp_path: Path) -> None:
    with empty_database() as url:
        env = _env(url, tmp_path)
        migrated = runner.invoke(app, ["migrate"], env=env)
        assert migrated.exit_code == 0, migrated.output
        created = runner.invoke(
            app,
            ["bootstrap", "--username", "Amal", "--password-stdin"],
            input=PASSWORD + "\n",
            env=env,
        )
        assert created.exit_code == 0, created.output
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                user = session.scalars(select(User)).one()
                agency = session.get(Agency, user.agency_id)
                assert agency is not None and agency.name == "System"
                assert user.username == "amal"
                assert user.role == "system_admin"
                assert verify_password(PASSWORD, user.password_hash)
                assert PASSWORD not in user.password_hash
                actions = session.scalars(select(AuditEvent.action)).all()
                assert "user.bootstrap" in actions
        finally:
            engine.dispose()


def test_bootstrap_refuses_when_users_exist(tmp_path: Path) -> None:
    with empty_database() as url:
        env = _env(url, tmp_path)
        assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
        args = ["bootstrap", "--username", "first", "--password-stdin"]
        assert runner.invoke(app, args, input=PASSWORD + "\n", env=env).exit_code == 0
        again = runner.invoke(
            app,
            ["bootstrap", "--username", "second", "--password-stdin"],
            input=PASSWORD + "\n",
            env=env,
        )
        assert again.exit_code != 0
        skipped = runner.invoke(
            app, ["bootstrap", "--username", "x", "--generate-password", "--if-empty"], env=env
        )
        assert skipped.exit_code == 0
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                assert session.scalar(select(func.count()).select_from(User)) == 1
        finally:
            engine.dispose()


def test_bootstrap_rejects_a_weak_password(tmp_path: Path) -> None:
    with empty_database() as url:
        env = _env(url, tmp_path)
        assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
        weak = runner.invoke(
            app, ["bootstrap", "--username", "a", "--password-stdin"], input="short\n", env=env
        )
        assert weak.exit_code == 2
        assert "at least 12" in weak.output


def test_generated_password_is_printed_once_and_works(tmp_path: Path) -> None:
    with empty_database() as url:
        env = _env(url, tmp_path)
        assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
        result = runner.invoke(
            app, ["bootstrap", "--username", "admin", "--generate-password"], env=env
        )
        assert result.exit_code == 0, result.output
        line = next(li for li in result.output.splitlines() if "password:" in li)
        password = line.split("password:", 1)[1].strip()
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                user = session.scalars(select(User)).one()
                assert verify_password(password, user.password_hash)
        finally:
            engine.dispose()


def test_invalid_settings_fail_with_a_clear_message_not_a_traceback() -> None:
    result = runner.invoke(
        app, ["migrate"], env={"HAVEN_PORT": "eighty", "HAVEN_DATABASE_URL": "mysql://x"}
    )
    assert result.exit_code == 2
    assert "HAVEN_PORT" in result.output
    assert "HAVEN_DATABASE_URL" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_the_installed_command_works_from_any_directory(tmp_path: Path) -> None:
    """A relative SQLite path is relative to the working directory, wherever that is."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = dict(os.environ)
    env.pop("HAVEN_DATABASE_URL", None)
    env.update({"HAVEN_KEY_FILE": str(tmp_path / "keyring.json")})
    haven = Path(sys.executable).with_name("haven")
    done = subprocess.run(
        [str(haven), "migrate"], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert (work / "var" / "haven.db").exists()


@pytest.mark.parametrize(
    "command", [["audit", "verify"], ["keys", "status"], ["audit", "checkpoint"]], ids=" ".join
)
def test_commands_refuse_a_missing_database_and_create_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    env = _env(f"sqlite:///{tmp_path / 'nowhere' / 'haven.db'}", tmp_path)
    result = runner.invoke(app, command, env=env)
    assert result.exit_code == 1
    assert "haven migrate" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "nowhere").exists()
    assert not (tmp_path / "keyring.json").exists()


def test_commands_refuse_a_database_without_the_schema(tmp_path: Path) -> None:
    with empty_database() as url:
        if url.startswith("sqlite"):
            make_engine(url).dispose()
            Path(url.removeprefix("sqlite:///")).touch()
        result = runner.invoke(app, ["audit", "verify"], env=_env(url, tmp_path))
        assert result.exit_code == 1
        assert "no Haven schema" in result.output
        assert not (tmp_path / "keyring.json").exists()


def test_reset_password_breaks_glass_for_a_lost_admin_password(tmp_path: Path) -> None:
    with empty_database() as url:
        env = _env(url, tmp_path)
        assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
        args = ["bootstrap", "--username", "admin", "--password-stdin"]
        assert runner.invoke(app, args, input=PASSWORD + "\n", env=env).exit_code == 0
        unknown = runner.invoke(
            app, ["reset-password", "--username", "nobody", "--generate-password"], env=env
        )
        assert unknown.exit_code == 1
        result = runner.invoke(
            app, ["reset-password", "--username", "ADMIN", "--generate-password"], env=env
        )
        assert result.exit_code == 0, result.output
        line = next(li for li in result.output.splitlines() if "password:" in li)
        temporary = line.split("password:", 1)[1].strip()
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                user = session.scalars(select(User)).one()
                assert verify_password(temporary, user.password_hash)
                assert not verify_password(PASSWORD, user.password_hash)
                assert user.must_change_password
                event = session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "user.reset_password")
                ).one()
                assert event.actor_type == "system" and event.resource_id == str(user.id)
        finally:
            engine.dispose()


def test_reset_password_leaves_a_deactivated_account_off_unless_told_to_reactivate(
    tmp_path: Path,
) -> None:
    with empty_database() as url:
        env = _env(url, tmp_path)
        assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
        args = ["bootstrap", "--username", "admin", "--password-stdin"]
        assert runner.invoke(app, args, input=PASSWORD + "\n", env=env).exit_code == 0
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            with factory() as session, session.begin():
                session.scalars(select(User)).one().is_active = False
            reset = ["reset-password", "--username", "admin", "--generate-password"]
            refused = runner.invoke(app, reset, env=env)
            assert refused.exit_code == 1
            assert "deactivated" in refused.output and "--reactivate" in refused.output
            with factory() as session:
                user = session.scalars(select(User)).one()
                assert not user.is_active
                assert verify_password(PASSWORD, user.password_hash)  # nothing changed
            done = runner.invoke(app, [*reset, "--reactivate"], env=env)
            assert done.exit_code == 0, done.output
            again = runner.invoke(app, reset, env=env)  # an active account needs no flag
            assert again.exit_code == 0, again.output
            with factory() as session:
                assert session.scalars(select(User)).one().is_active
                details = [
                    e.detail
                    for e in session.scalars(
                        select(AuditEvent)
                        .where(AuditEvent.action == "user.reset_password")
                        .order_by(AuditEvent.seq)
                    )
                ]
            assert [json.loads(d or "{}")["reactivated"] for d in details] == [True, False]
        finally:
            engine.dispose()
