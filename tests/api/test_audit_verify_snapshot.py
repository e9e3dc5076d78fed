"""`GET /audit/verify` reads the chain from a snapshot of its own: writers go on while it runs
(on SQLite it no longer holds the database's write lock for the whole verification), and what
they append meanwhile is not part of that verification."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select

from api.app import create_app
from models.audit import AuditEvent
from models.db import DatabaseLimits, make_engine, make_session_factory
from services import audit
from services.actions import Action
from services.audit import queries
from services.audit.verify import VerifyReport, verify_log
from services.policy import Role
from services.runtime import Runtime
from tests.factories import API, make_agency, make_user, user_headers


def test_a_write_commits_while_the_verification_reads(
    fresh_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = fresh_runtime
    with runtime.session_factory() as db, db.begin():
        auditor = make_user(db, make_agency(db), Role.AUDITOR)
        headers = user_headers(db, auditor, runtime.settings)
    # A writer of its own that gives up after 2 s instead of queueing behind a held lock.
    writer_engine = make_engine(
        runtime.settings.database_url, limits=DatabaseLimits(sqlite_busy_timeout_ms=2000)
    )
    writer = make_session_factory(writer_engine)
    real_verify = verify_log
    during: dict[str, int] = {}

    def verify_while_writing(connection: Connection, *args: Any, **kwargs: Any) -> VerifyReport:
        # The verification's snapshot starts with its first read ...
        during["seen"] = int(connection.scalar(select(func.count()).select_from(AuditEvent)) or 0)
        # ... and a writer commits while it is open.
        with writer() as session, session.begin():
            audit.record(session, None, Action.ACCESS_DENIED, detail={"written": "meanwhile"})
        during["after_write"] = int(
            connection.scalar(select(func.count()).select_from(AuditEvent)) or 0
        )
        return real_verify(connection, *args, **kwargs)

    monkeypatch.setattr(queries, "verify_log", verify_while_writing)
    try:
        with TestClient(create_app(runtime=runtime), raise_server_exceptions=True) as http:
            answer = http.get(f"{API}/audit/verify", headers=headers)
    finally:
        writer_engine.dispose()
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["valid"] is True
    # The write went through, and the verification kept to its snapshot.
    assert during["after_write"] == during["seen"]
    assert report["events_checked"] == during["seen"]
    with runtime.session_factory() as db:
        written = db.scalar(select(func.count()).where(AuditEvent.detail.contains("meanwhile")))
        events = db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert written == 1
    assert events[-1] == "audit.verify"  # the verification itself is still audited
