"""Purge jobs: delete bookkeeping rows whose life is over. They hold no case content, but
fewer dead rows mean less to leak and smaller indexes.

Deletions are not audited one by one: they remove Haven's own bookkeeping (no record a person
created or read), and the job's run is recorded in `job_runs` and logged with its counts.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from models.access import ReadTrack
from models.base import utcnow
from models.cases import IdempotencyRecord
from models.identity import AccessToken, LoginFailure
from services.alerts.service import WINDOW as READ_WINDOW
from services.audit.anonymous import flush_ended
from services.kit.idempotency import TTL as IDEMPOTENCY_TTL
from services.runtime import Runtime

DEAD_TOKEN_GRACE = timedelta(days=7)
"""A dead token's row is kept this long, so an investigation can still tie its id to its
owner; its value was never stored (only its SHA-256), so the row lets nobody in."""


def purge_idempotency_records(runtime: Runtime) -> str:
    cutoff = utcnow() - IDEMPOTENCY_TTL
    with runtime.session_factory() as session, session.begin():
        result = session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
        )
    return f"deleted {result.rowcount} expired idempotency record(s)"  # type: ignore[attr-defined]


def purge_dead_tokens(runtime: Runtime) -> str:
    settings = runtime.settings
    now = utcnow()
    cutoff = now - DEAD_TOKEN_GRACE
    idle_cutoff = cutoff - timedelta(minutes=settings.token_idle_minutes)
    window_start = now - timedelta(minutes=settings.login_window_minutes)
    with runtime.session_factory() as session, session.begin():
        tokens = session.execute(
            delete(AccessToken).where(
                or_(
                    AccessToken.expires_at < cutoff,
                    AccessToken.revoked_at < cutoff,
                    AccessToken.last_used_at < idle_cutoff,
                )
            )
        )
        failures = session.execute(delete(LoginFailure).where(LoginFailure.at < window_start))
    return (
        f"deleted {tokens.rowcount} dead token(s), "  # type: ignore[attr-defined]
        f"{failures.rowcount} old failed-login record(s)"  # type: ignore[attr-defined]
    )


def summarise_anonymous_refusals(runtime: Runtime) -> str:
    """Write the summary event of every ended window of anonymous refusals (those no later
    refusal from the same address has closed yet), so a burst's count reaches the audit log
    even when its address never comes back."""
    window = timedelta(seconds=runtime.settings.anonymous_window_seconds)
    with runtime.session_factory() as session, session.begin():
        written = flush_ended(session, window)
    return f"wrote {written} anonymous-refusal summary event(s)"


def purge_read_tracks(runtime: Runtime) -> str:
    """Reads older than the bulk-read window no longer count towards an alert; who read which
    case when stays in the audit log."""
    cutoff = utcnow() - READ_WINDOW
    with runtime.session_factory() as session, session.begin():
        result = session.execute(delete(ReadTrack).where(ReadTrack.read_at < cutoff))
    return f"deleted {result.rowcount} old read-tracking row(s)"  # type: ignore[attr-defined]
