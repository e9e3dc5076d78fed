"""`haven jobs`: the periodic work runs, each run is claimed once, recorded and shown."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from models.base import utcnow
from models.cases import IdempotencyRecord
from models.identity import AccessToken, LoginFailure
from models.jobs import JobRun
from services import audit
from services.actions import Action
from services.audit.checkpoints import read_checkpoints
from services.audit.enums import ActorType
from services.cli import app
from services.identity.tokens import issue_user_token
from services.jobs import JOBS, Job, job_status, run_due, run_each_once
from services.runtime import Runtime
from tests.databases import migrated_database
from tests.factories import make_agency, make_user

runner = CliRunner()


@pytest.fixture
def committed(fresh_runtime: Runtime) -> Runtime:
    """A database of its own with real commits: runs are claimed in their own transactions."""
    return fresh_runtime


def _env(url: str, folder: Path) -> dict[str, str]:
    return {
        "HAVEN_DATABASE_URL": url,
        "HAVEN_KEY_FILE": str(folder / "keyring.json"),
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(folder / "checkpoints.jsonl"),
    }


def test_jobs_run_once_runs_every_job_and_status_shows_them(tmp_path: Path) -> None:
    with migrated_database() as url:
        env = _env(url, tmp_path)
        assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
        before = runner.invoke(app, ["jobs", "status", "--check"], env=env)
        assert before.exit_code == 1, "never-run jobs are late"
        done = runner.invoke(app, ["jobs", "run", "--once"], env=env)
        assert done.exit_code == 0, done.output
        for job in JOBS:
            assert f"{job.name}: ok: " in done.output
        shown = runner.invoke(app, ["jobs", "status", "--check"], env=env)
        assert shown.exit_code == 0, shown.output
        for job in JOBS:
            assert f"{job.name}: every " in shown.output
        assert "1 run(s), 0 failed" in shown.output


def test_a_run_is_claimed_once_per_period(committed: Runtime) -> None:
    first = run_due(committed)
    assert [r.outcome for r in first] == ["ok"] * len(JOBS)
    again = run_due(committed)
    assert [r.outcome for r in again] == ["skipped"] * len(JOBS)
    forced = run_each_once(committed)
    assert [r.outcome for r in forced] == ["ok"] * len(JOBS)
    assert {s.name: s.runs for s in job_status(committed)} == {j.name: 2 for j in JOBS}


def test_a_failing_job_is_recorded_and_the_others_still_run(committed: Runtime) -> None:
    def broken(_runtime: Runtime) -> str:
        raise RuntimeError("Amal Haddad")  # a message that must not be stored

    jobs = [Job("broken", "fails", lambda _s: timedelta(minutes=1), broken), JOBS[1]]
    results = run_each_once(committed, jobs)
    assert [r.outcome for r in results] == ["failed", "ok"]
    with committed.session_factory() as session:
        row = session.get(JobRun, "broken")
        assert row is not None
        assert row.last_outcome == "failed" and row.failures == 1 and row.last_ok_at is None
        assert row.last_summary == "raised RuntimeError"
        assert "Amal" not in (row.last_summary or "")


def test_purges_delete_only_what_has_expired(committed: Runtime) -> None:
    settings = committed.settings
    now = utcnow()
    with committed.session_factory() as session, session.begin():
        user = make_user(session, make_agency(session))
        live = issue_user_token(session, user, settings)
        dead = session.get(AccessToken, issue_user_token(session, user, settings).token_id)
        assert dead is not None
        dead.expires_at = now - timedelta(days=8)
        for age in (timedelta(hours=25), timedelta(hours=1)):
            session.add(
                IdempotencyRecord(
                    principal_id=user.id,
                    key_hash=uuid.uuid4().hex,
                    fingerprint="f" * 64,
                    resource_type="case",
                    resource_id=uuid.uuid4(),
                    case_id=uuid.uuid4(),
                    status_code=201,
                    created_at=now - age,
                )
            )
        session.add(LoginFailure(account_key="k" * 64, at=now - timedelta(hours=1)))
        session.add(LoginFailure(account_key="k" * 64, at=now))
    by_name = {job.name: job for job in JOBS}
    results = run_each_once(committed, [by_name["purge_idempotency"], by_name["purge_tokens"]])
    assert [r.summary for r in results] == [
        "deleted 1 expired idempotency record(s)",
        "deleted 1 dead token(s), 1 old failed-login record(s)",
    ]
    with committed.session_factory() as session:
        tokens = session.scalars(select(AccessToken).where(AccessToken.user_id == user.id)).all()
        assert [t.id for t in tokens] == [live.token_id]
        assert len(session.scalars(select(IdempotencyRecord)).all()) == 1
        assert len(session.scalars(select(LoginFailure)).all()) == 1


def test_the_checkpoint_job_signs_a_new_head_once(committed: Runtime) -> None:
    job = next(j for j in JOBS if j.name == "audit_checkpoint")
    # The first commit signs its own head (no checkpoint file yet); the second one, moments
    # later, is not due for the commit-time checkpoint: only the job signs it.
    for _ in range(2):
        with committed.session_factory() as session, session.begin():
            audit.record(session, audit.Actor(type=ActorType.SYSTEM), Action.AUDIT_VERIFY)
    first = run_each_once(committed, [job])[0]
    assert (first.outcome, first.summary) == ("ok", "signed head 2")
    second = run_each_once(committed, [job])[0]
    assert second.summary.endswith("already signed")
    lines = list(read_checkpoints(committed.settings.audit_checkpoint_file))
    heads = [line.checkpoint.seq for line in lines if line.checkpoint is not None]
    assert heads and heads.count(heads[-1]) == 1
