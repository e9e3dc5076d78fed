"""On PostgreSQL the appending transaction commits without waiting for its disk flush (so the
chain lock is not held through it), and the flush is waited for after the commit, before
`commit()` returns and before anything is signed (`services.audit.log._wait_until_durable`).

These tests pin the three things that make that safe: the commit does not return before the log
is flushed past it; a flush that cannot be confirmed makes the commit raise (so the request is not
acknowledged) and signs nothing; and through the API such a request answers 503, not 2xx."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection

from api.app import create_app
from services import audit
from services.actions import Action
from services.audit import log as audit_log
from services.audit.checkpoints import Checkpointer
from services.policy import Role
from services.runtime import Runtime
from tests.factories import API, case_body, make_agency, make_user, user_headers

pytestmark = pytest.mark.postgres_only


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def _autocommit_scalar(connection: Connection, statement: str) -> Any:
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.autocommit = True
    try:
        row = driver.execute(statement).fetchone()
    finally:
        driver.autocommit = False
    assert row is not None
    return row[0]


def test_the_commit_returns_only_once_the_log_is_flushed_past_it(
    fresh_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    real_wait = audit_log._wait_until_durable

    def measuring_wait(connection: Connection) -> None:
        # Where the log ends right after the audited commit: its commit record lies before.
        end = _autocommit_scalar(connection, "SELECT pg_current_wal_insert_lsn()")
        seen["commit_end"] = _lsn(end)
        seen["sync"] = _autocommit_scalar(connection, "SHOW synchronous_commit")
        real_wait(connection)

    monkeypatch.setattr(audit_log, "_wait_until_durable", measuring_wait)
    with fresh_runtime.session_factory() as session:
        audit.record(session, None, Action.ACCESS_DENIED, detail={"why": "durability test"})
        session.commit()
        flushed = _lsn(
            str(session.connection().exec_driver_sql("SELECT pg_current_wal_flush_lsn()").scalar())
        )
    assert "commit_end" in seen, "the flush was not waited for after an audited commit"
    assert flushed >= seen["commit_end"]
    # The append's own `synchronous_commit = off` was local to its transaction: the connection
    # is back to the server's setting for everything after it, the flush included.
    assert seen["sync"] == "on"


def test_a_flush_that_cannot_be_confirmed_fails_the_commit_and_signs_nothing(
    fresh_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed: list[tuple[int, int, str]] = []
    monkeypatch.setattr(
        Checkpointer, "after_append", lambda _self, *appended: signed.append(appended)
    )

    def lost(_connection: Connection) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(audit_log, "_wait_until_durable", lost)
    with fresh_runtime.session_factory() as session:
        audit.record(session, None, Action.ACCESS_DENIED, detail={"why": "durability test"})
        with pytest.raises(psycopg.OperationalError):
            session.commit()
    assert signed == []

    # With the flush confirmed, the next commit is signed as usual (the first events of a young
    # chain are each signed).
    monkeypatch.undo()
    monkeypatch.setattr(
        Checkpointer, "after_append", lambda _self, *appended: signed.append(appended)
    )
    with fresh_runtime.session_factory() as session:
        audit.record(session, None, Action.ACCESS_DENIED, detail={"why": "durability test"})
        session.commit()
    assert len(signed) == 1


def test_a_write_whose_flush_cannot_be_confirmed_answers_503(
    fresh_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = fresh_runtime
    with runtime.session_factory() as db, db.begin():
        agency = make_agency(db)
        caseworker = make_user(db, agency, Role.CASEWORKER)
        headers = user_headers(db, caseworker, runtime.settings)
    body = case_body()

    def lost(_connection: Connection) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(audit_log, "_wait_until_durable", lost)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as http:
        answer = http.post(f"{API}/cases", json=body, headers=headers)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        monkeypatch.undo()
        again = http.post(f"{API}/cases", json=body, headers=headers)
        assert again.status_code == 201, again.text
