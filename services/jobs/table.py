"""The periodic jobs, as a table. To add one, write a function `(runtime) -> str` that does one
run and returns a short summary (counts only: never a name or any other record content, since
the summary is stored and logged), then append a `Job` to `JOBS`. The runner claims, times,
records and logs each run; a job only has to be idempotent and safe to run on any worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from services.config import Settings
from services.jobs import purge, reindex, sweeps
from services.jobs.checkpoint import sign_new_events
from services.runtime import Runtime


@dataclass(frozen=True)
class Job:
    name: str
    """Stable identifier (the `job_runs` row, the log field, `haven jobs status`)."""
    description: str
    every: Callable[[Settings], timedelta]
    """How often it runs, from the settings."""
    run: Callable[[Runtime], str]


def _fixed(delta: timedelta) -> Callable[[Settings], timedelta]:
    return lambda _settings: delta


JOBS: list[Job] = [
    Job(
        "audit_checkpoint",
        "Sign the audit chain's head into the checkpoint file when events were added since the "
        "last checkpoint, so a quiet server still leaves a recent signed head.",
        lambda settings: timedelta(seconds=settings.audit_checkpoint_every_seconds),
        sign_new_events,
    ),
    Job(
        "anonymous_refusal_summaries",
        "Write the counted refusals of unauthenticated requests of every ended window to the "
        "audit log as one summary event per address and window.",
        lambda settings: timedelta(seconds=settings.anonymous_window_seconds),
        purge.summarise_anonymous_refusals,
    ),
    Job(
        "purge_idempotency",
        "Delete Idempotency-Key records older than their 24-hour life.",
        _fixed(timedelta(hours=1)),
        purge.purge_idempotency_records,
    ),
    Job(
        "purge_tokens",
        "Delete access tokens dead (expired, idle too long or revoked) for over a week, and "
        "failed-login records older than the throttling window.",
        _fixed(timedelta(hours=1)),
        purge.purge_dead_tokens,
    ),
    Job(
        "purge_read_tracks",
        "Delete read-tracking rows older than the bulk-read window (an hour): they no longer "
        "count towards an alert.",
        _fixed(timedelta(hours=1)),
        purge.purge_read_tracks,
    ),
    Job(
        "overdue_sweep",
        "Count open cases past their next action, sent referrals past their response time and "
        "break-glass uses past their review time, and log the counts (a warning when any), for "
        "monitoring to alert on.",
        _fixed(timedelta(minutes=15)),
        sweeps.overdue_sweep,
    ),
    Job(
        "reindex_cases",
        "Write the duplicate-check tokens of cases registered before they existed (listed in "
        "case_token_backlog by the migration); nothing to do once the backlog is empty.",
        _fixed(timedelta(minutes=5)),
        reindex.reindex_backlog,
    ),
]
"""Run in this order when several are due at once."""
