"""Every wait is bounded: one stuck process, a stalled database or a flood of requests gets a
prompt answer (503 with Retry-After), never a hang, and never a half-kept write.

On PostgreSQL the stuck process is real: a second Haven process takes the audit chain's lock
(or a case-number counter row) inside a transaction and is paused with SIGSTOP; the stalled
database is a TCP proxy that stops relaying without closing anything, as a paused or partitioned
database host does. The request deadline itself is also checked on either database with a route
whose work does not finish.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.engine import make_url

from api.app import create_app
from api.deps import SessionDep
from api.routing import TransactionalRoute, request_slots
from models.cases import Case
from models.db import make_engine, make_session_factory
from models.identity import Agency
from services.config import database_limits
from services.policy import Role
from services.runtime import Runtime
from tests.api.test_cases_helpers import body
from tests.factories import API, make_agency, make_user, user_headers
from tests.live import StallingProxy, live_server

ROOT = Path(__file__).resolve().parents[2]
SLACK = 3.0
"""Seconds allowed on top of a configured limit (a busy two-core test machine)."""


def tuned(runtime: Runtime, url: str | None = None, **overrides: Any) -> Runtime:
    """`runtime`'s database and keyring with other settings (its own engine and pool)."""
    settings = runtime.settings.model_copy(
        update={"database_url": url or runtime.settings.database_url, **overrides}
    )
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        limits=database_limits(settings),
    )
    return Runtime(settings, engine, make_session_factory(engine), runtime.keyring)


def caseworker(runtime: Runtime) -> dict[str, str]:
    with runtime.session_factory() as session, session.begin():
        user = make_user(session, make_agency(session), Role.CASEWORKER)
        return user_headers(session, user, runtime.settings)


def cause(response: httpx.Response) -> str | None:
    if response.status_code != 503:
        return None
    assert int(response.headers["Retry-After"]) >= 1
    return str(response.json().get("cause"))


# --- a paused process holding a lock -----------------------------------------------------------


@pytest.fixture
def holder_env(fresh_runtime: Runtime) -> dict[str, str]:
    settings = fresh_runtime.settings
    return {
        **os.environ,
        "HAVEN_DATABASE_URL": settings.database_url,
        "HAVEN_KEY_FILE": str(settings.key_file),
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(settings.audit_checkpoint_file),
        "HAVEN_DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS": "4",
        "PYTHONPATH": str(ROOT),
    }


def start_holder(lock: str, env: dict[str, str]) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.holder", lock],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    ready, _, _ = select.select([holder.stdout], [], [], 60)
    assert ready and holder.stdout.readline().strip() == "holding", "the holder did not start"
    return holder


@pytest.mark.postgres_only
@pytest.mark.parametrize("lock", ["chain", "counter"])
def test_a_paused_process_holding_a_lock_stalls_the_others_only_until_its_timeout(
    fresh_runtime: Runtime, holder_env: dict[str, str], lock: str
) -> None:
    runtime = tuned(
        fresh_runtime, db_lock_timeout_seconds=1, db_idle_in_transaction_timeout_seconds=4
    )
    headers = caseworker(runtime)
    with (
        live_server(create_app(runtime=runtime)) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        assert http.post(f"{API}/cases", json=body(), headers=headers).status_code == 201
        holder = start_holder(lock, holder_env)
        os.kill(holder.pid, signal.SIGSTOP)  # paused mid-transaction, the lock held
        paused = time.monotonic()
        outcomes: list[tuple[float, float, int, str | None]] = []
        try:
            while time.monotonic() - paused < 30 and len(outcomes) < 60:
                started = time.monotonic()
                response = http.post(f"{API}/cases", json=body(), headers=headers)
                outcomes.append(
                    (
                        started - paused,
                        time.monotonic() - started,
                        response.status_code,
                        cause(response),
                    )
                )
                if response.status_code == 201:
                    break
        finally:
            holder.kill()  # SIGKILL ends a stopped process too
            holder.wait(timeout=30)
    statuses = [status for _, _, status, _ in outcomes]
    # While the lock was held, requests failed fast (the lock wait is 1 s), naming the cause;
    # once PostgreSQL ended the idle transaction (4 s), the lock was free and intake worked.
    assert statuses[-1] == 201, outcomes
    assert 503 in statuses, outcomes  # the lock really was in the way
    assert {c for _, _, s, c in outcomes if s == 503} == {"database_lock_timeout"}, outcomes
    assert all(took < 1 + SLACK for _, took, _, _ in outcomes), outcomes
    assert outcomes[-1][0] < 4 + 1 + SLACK, outcomes


# --- a stalled database --------------------------------------------------------------------------


@pytest.fixture
def stalled(fresh_runtime: Runtime) -> Iterator[tuple[Runtime, StallingProxy]]:
    url = make_url(fresh_runtime.settings.database_url)
    proxy = StallingProxy((url.host or "127.0.0.1", url.port or 5432))
    runtime = tuned(
        fresh_runtime,
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        request_timeout_seconds=2,
        ready_timeout_seconds=1,
        request_queue_timeout_seconds=1,
        request_queue_limit=2,
        db_pool_size=3,
        db_max_overflow=0,
    )
    yield runtime, proxy
    proxy.resume()
    runtime.engine.dispose()
    proxy.close()


@pytest.mark.postgres_only
def test_a_stalled_database_gets_prompt_503s_and_no_half_kept_write(
    stalled: tuple[Runtime, StallingProxy],
) -> None:
    runtime, proxy = stalled
    headers = caseworker(runtime)
    keyed = {**headers, "Idempotency-Key": "stall-1"}
    with (
        live_server(create_app(runtime=runtime)) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        assert http.get("/ready").status_code == 200
        assert http.post(f"{API}/cases", json=body(), headers=headers).status_code == 201
        proxy.stall()

        started = time.monotonic()
        ready = http.get("/ready")
        assert ready.status_code == 503 and time.monotonic() - started < 1 + SLACK

        started = time.monotonic()
        intake = http.post(f"{API}/cases", json=body(given="Stalled"), headers=keyed)
        assert cause(intake) == "database_not_answering"
        assert time.monotonic() - started < 2 + SLACK

        # A crowd: each gets an answer within the slot wait plus the deadline; none hangs.
        answers: list[tuple[int, str | None, float]] = []

        def one() -> None:
            began = time.monotonic()
            response = http.get(f"{API}/cases", headers=headers)
            answers.append((response.status_code, cause(response), time.monotonic() - began))

        crowd = [threading.Thread(target=one) for _ in range(8)]
        for thread in crowd:
            thread.start()
        for thread in crowd:
            thread.join(timeout=30)
        assert len(answers) == 8
        assert {status for status, _, _ in answers} == {503}, answers
        assert {c for _, c, _ in answers} <= {"database_not_answering", "server_busy"}
        assert all(took < 1 + 2 + SLACK for _, _, took in answers), answers
        for _ in range(3):  # /ready keeps answering promptly, probe after probe
            started = time.monotonic()
            assert http.get("/ready").status_code == 503
            assert time.monotonic() - started < 1 + SLACK

        proxy.resume()
        deadline = time.monotonic() + 30
        retried = http.post(f"{API}/cases", json=body(given="Stalled"), headers=keyed)
        while retried.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.5)
            retried = http.post(f"{API}/cases", json=body(given="Stalled"), headers=keyed)
        # The intake that answered 503 was rolled back when its thread got through: the retry
        # with the same key creates the case now (not a replay of a write nobody was told of).
        assert retried.status_code == 201, retried.text
        assert "Idempotent-Replayed" not in retried.headers
        assert http.get("/ready").status_code == 200
    with runtime.session_factory() as session:
        assert session.scalar(sql_select(func.count()).select_from(Case)) == 2


# --- the request deadline and the waiting room, on either database --------------------------------


STUCK_MARK = "written by a request that answered 503"


def _app_with_a_stuck_route(runtime: Runtime, release: threading.Event) -> FastAPI:
    app = create_app(runtime=runtime)
    router = APIRouter(route_class=TransactionalRoute)

    @router.post("/probe/stuck")
    def stuck(session: SessionDep) -> dict[str, str]:
        session.add(Agency(name=f"{STUCK_MARK} {uuid.uuid4().hex[:8]}"))
        session.flush()
        release.wait(timeout=30)  # a database call that does not return
        return {"ok": "yes"}

    app.include_router(router)
    return app


def test_a_request_past_its_deadline_answers_503_and_its_work_is_rolled_back(
    fresh_runtime: Runtime,
) -> None:
    runtime = tuned(
        fresh_runtime,
        request_timeout_seconds=1,
        request_queue_timeout_seconds=1,
        request_queue_limit=1,
        db_pool_size=3,
        db_max_overflow=0,
        sqlite_busy_timeout_seconds=30,
    )
    release = threading.Event()
    app = _app_with_a_stuck_route(runtime, release)
    slots = request_slots(runtime.engine, runtime.settings)
    with (
        live_server(app) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        stuck: list[tuple[str | None, float]] = []

        def one_stuck() -> None:
            began = time.monotonic()
            stuck.append((cause(http.post("/probe/stuck")), time.monotonic() - began))

        fill = [threading.Thread(target=one_stuck) for _ in range(slots)]
        for thread in fill:
            thread.start()
        for thread in fill:
            thread.join(timeout=30)
        assert [c for c, _ in stuck] == ["database_not_answering"] * slots
        assert all(took < 1 + SLACK for _, took in stuck), stuck
        # Every slot is held by abandoned work: the next request waits at most its queue time,
        # and says why; beyond the queue limit a request is answered at once.
        results: list[str | None] = []
        waiters = [
            threading.Thread(target=lambda: results.append(cause(http.get(f"{API}/cases"))))
            for _ in range(3)
        ]
        started = time.monotonic()
        for thread in waiters:
            thread.start()
        for thread in waiters:
            thread.join(timeout=30)
        assert results == ["database_not_answering"] * 3
        assert time.monotonic() - started < 1 + SLACK
        release.set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the abandoned work ends and gives its slots back
            if http.get(f"{API}/cases").status_code == 401:
                break
            time.sleep(0.2)
        assert http.get(f"{API}/cases").status_code == 401
    with runtime.session_factory() as session:
        names = session.scalars(sql_select(Agency.name)).all()
    assert not [name for name in names if name.startswith(STUCK_MARK)]
    runtime.engine.dispose()


# --- the limits reach the database sessions ---------------------------------------------------


def test_the_server_sessions_carry_the_configured_limits(fresh_runtime: Runtime) -> None:
    runtime = tuned(
        fresh_runtime,
        db_statement_timeout_seconds=7,
        db_lock_timeout_seconds=2,
        db_idle_in_transaction_timeout_seconds=9,
        sqlite_busy_timeout_seconds=3,
    )
    with runtime.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            shown = {
                name: connection.exec_driver_sql(f"SHOW {name}").scalar_one()
                for name in (
                    "statement_timeout",
                    "lock_timeout",
                    "idle_in_transaction_session_timeout",
                )
            }
            assert shown == {
                "statement_timeout": "7s",
                "lock_timeout": "2s",
                "idle_in_transaction_session_timeout": "9s",
            }
        else:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 3000
            # FULL (2): a commit is on disk before it is acknowledged.
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
    runtime.engine.dispose()
