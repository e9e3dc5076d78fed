"""Claiming, running and recording the periodic jobs.

A run is claimed by a conditional UPDATE of the job's `job_runs` row (its last start older than
the job's period, or `force`), committed before the job starts: with several workers, or a worker
and an operator's `haven jobs run --once`, each due run happens once. A job that raises is
recorded as failed (its exception type, never its message: it could quote data) and retried at
the next period; the other jobs still run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.base import utcnow
from models.jobs import JobRun
from services.jobs.table import JOBS, Job
from services.runtime import Runtime

log = logging.getLogger("haven.jobs")
SUMMARY_LIMIT = 255


@dataclass(frozen=True)
class JobResult:
    name: str
    outcome: str
    """`ok`, `failed`, or `skipped` (not due, or another worker holds this period's run)."""
    summary: str
    seconds: float = 0.0


def _ensure_row(session: Session, name: str) -> None:
    if session.get(JobRun, name) is not None:
        return
    try:
        with session.begin_nested():
            session.add(JobRun(name=name, runs=0, failures=0))
    except IntegrityError:
        pass  # another worker created it first


def _claim(runtime: Runtime, job: Job, now: datetime, *, force: bool) -> bool:
    with runtime.session_factory() as session, session.begin():
        _ensure_row(session, job.name)
        statement = update(JobRun).where(JobRun.name == job.name)
        if not force:
            last_allowed = now - job.every(runtime.settings)
            statement = statement.where(
                or_(JobRun.last_started_at.is_(None), JobRun.last_started_at <= last_allowed)
            )
        claimed = session.execute(statement.values(last_started_at=now)).rowcount  # type: ignore[attr-defined]
    return bool(claimed)


def _record(runtime: Runtime, name: str, outcome: str, summary: str) -> None:
    now = utcnow()
    values: dict[str, object] = {
        "last_finished_at": now,
        "last_outcome": outcome,
        "last_summary": summary[:SUMMARY_LIMIT],
        "runs": JobRun.runs + 1,
    }
    if outcome == "ok":
        values["last_ok_at"] = now
    else:
        values["failures"] = JobRun.failures + 1
    with runtime.session_factory() as session, session.begin():
        session.execute(update(JobRun).where(JobRun.name == name).values(**values))


def run_job(runtime: Runtime, job: Job, *, force: bool = False) -> JobResult:
    if not _claim(runtime, job, utcnow(), force=force):
        return JobResult(job.name, "skipped", "not due")
    started = time.monotonic()
    try:
        summary = job.run(runtime)
        outcome = "ok"
    except Exception as error:  # noqa: BLE001  one failing job must not stop the others
        summary = f"raised {type(error).__name__}"
        outcome = "failed"
        log.error("job failed", extra={"job": job.name, "error": type(error).__name__})
    seconds = time.monotonic() - started
    _record(runtime, job.name, outcome, summary)
    if outcome == "ok":
        log.info(
            "job done", extra={"job": job.name, "summary": summary, "seconds": round(seconds, 3)}
        )
    return JobResult(job.name, outcome, summary, seconds)


def run_due(runtime: Runtime, jobs: Iterable[Job] = JOBS) -> list[JobResult]:
    """Run every job whose period has passed (what `haven jobs run` does on each tick)."""
    return [run_job(runtime, job) for job in jobs]


def run_each_once(runtime: Runtime, jobs: Iterable[Job] = JOBS) -> list[JobResult]:
    """Run every job now, due or not (`haven jobs run --once`)."""
    return [run_job(runtime, job, force=True) for job in jobs]


@dataclass(frozen=True)
class JobStatus:
    name: str
    description: str
    every_seconds: int
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_outcome: str | None
    last_summary: str | None
    last_ok_at: datetime | None
    runs: int
    failures: int


def job_status(runtime: Runtime, jobs: Iterable[Job] = JOBS) -> list[JobStatus]:
    with runtime.session_factory() as session:
        rows = {row.name: row for row in session.scalars(select(JobRun))}
    result = []
    for job in jobs:
        row = rows.get(job.name)
        result.append(
            JobStatus(
                name=job.name,
                description=job.description,
                every_seconds=int(job.every(runtime.settings).total_seconds()),
                last_started_at=row.last_started_at if row else None,
                last_finished_at=row.last_finished_at if row else None,
                last_outcome=row.last_outcome if row else None,
                last_summary=row.last_summary if row else None,
                last_ok_at=row.last_ok_at if row else None,
                runs=row.runs if row else 0,
                failures=row.failures if row else 0,
            )
        )
    return result
