"""A flood of unauthenticated requests grows the audit log by a bounded number of rows, while
every burst is still recorded: the first refusal of each address and window as its own event,
the rest counted (in the database, so every worker shares the counter) and written as one
`auth.anonymous_refused` summary when the window ends. Past the limit the address gets 429."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.app import create_app
from models.audit import AnonymousRefusalWindow, AuditEvent
from services.jobs import JOBS, run_each_once
from services.runtime import Runtime
from tests.factories import API

LIMIT = 20
FLOOD = 100


@pytest.fixture
def limited(fresh_runtime: Runtime) -> Iterator[tuple[Runtime, TestClient]]:
    """A server (real commits) with a low anonymous limit, behind a trusted proxy so that a
    test can speak from several addresses."""
    settings = fresh_runtime.settings.model_copy(
        update={"anonymous_max_refusals": LIMIT, "trust_forwarded_for": True}
    )
    runtime = Runtime(
        settings=settings,
        engine=fresh_runtime.engine,
        session_factory=fresh_runtime.session_factory,
        keyring=fresh_runtime.keyring,
    )
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=True) as http:
        yield runtime, http


def _events(runtime: Runtime) -> list[AuditEvent]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _rows(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _end_windows(runtime: Runtime) -> None:
    """Let every open window end (as if its time had passed)."""
    past = timedelta(seconds=runtime.settings.anonymous_window_seconds + 1)
    with runtime.session_factory() as session, session.begin():
        for row in session.scalars(select(AnonymousRefusalWindow)):
            session.execute(
                update(AnonymousRefusalWindow)
                .where(AnonymousRefusalWindow.client_address == row.client_address)
                .values(started_at=row.started_at - past, last_at=row.last_at - past)
            )


def _summarise_now(runtime: Runtime) -> None:
    [job] = [job for job in JOBS if job.name == "anonymous_refusal_summaries"]
    [result] = run_each_once(runtime, [job])
    assert result.outcome == "ok", result


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _accounted(events: list[AuditEvent], address: str) -> tuple[int, int]:
    """(refusals recorded one by one, refusals counted in summaries) for one address."""
    own = [e for e in events if e.client_address == address and e.outcome == "denied"]
    single = [e for e in own if e.action != "auth.anonymous_refused"]
    counted = sum(
        json.loads(e.detail or "{}")["count"] for e in own if e.action == "auth.anonymous_refused"
    )
    return len(single), counted


def test_a_flood_adds_a_bounded_number_of_rows_and_every_refusal_is_counted(
    limited: tuple[Runtime, TestClient],
) -> None:
    runtime, http = limited
    before = _rows(runtime)
    statuses = [
        http.get(f"{API}/cases", headers=_from("203.0.113.9")).status_code for _ in range(FLOOD)
    ]
    assert statuses == [401] * LIMIT + [429] * (FLOOD - LIMIT)
    assert _rows(runtime) == before + 1  # the first of the burst, at once; the rest counted
    [first] = _events(runtime)[before:]
    assert (first.action, first.actor_type, first.client_address) == (
        "auth.token_rejected",
        "anonymous",
        "203.0.113.9",
    )

    _end_windows(runtime)
    _summarise_now(runtime)
    events = _events(runtime)[before:]
    assert len(events) == 2
    summary = events[1]
    assert (summary.action, summary.outcome, summary.actor_type) == (
        "auth.anonymous_refused",
        "denied",
        "anonymous",
    )
    detail: dict[str, Any] = json.loads(summary.detail or "{}")
    assert detail["count"] == FLOOD - 1
    assert detail["throttled"] == FLOOD - LIMIT
    assert detail["first_at"] <= detail["last_at"]
    assert _accounted(events, "203.0.113.9") == (1, FLOOD - 1)
    # Summarised once: running the job again writes nothing more.
    _summarise_now(runtime)
    assert len(_events(runtime)) == before + 2


def test_the_throttle_is_per_address_and_lifts_when_the_window_ends(
    limited: tuple[Runtime, TestClient],
) -> None:
    runtime, http = limited
    for _ in range(LIMIT + 1):
        http.get(f"{API}/cases", headers=_from("198.51.100.1"))
    over = http.get(f"{API}/cases", headers=_from("198.51.100.1"))
    assert over.status_code == 429
    assert 0 < int(over.headers["Retry-After"]) <= runtime.settings.anonymous_window_seconds
    assert http.get(f"{API}/cases", headers=_from("198.51.100.2")).status_code == 401

    _end_windows(runtime)
    # The next refusal closes the ended window (its summary) and starts a new one.
    before = _rows(runtime)
    assert http.get(f"{API}/cases", headers=_from("198.51.100.1")).status_code == 401
    summary, first = _events(runtime)[before:]
    assert summary.action == "auth.anonymous_refused" and first.action == "auth.token_rejected"
    assert json.loads(summary.detail or "{}")["count"] == LIMIT + 1


def test_parallel_floods_from_several_addresses_are_counted_exactly(
    limited: tuple[Runtime, TestClient],
) -> None:
    runtime, http = limited
    addresses = [f"192.0.2.{n}" for n in range(1, 5)]
    per_thread = 25
    before = _rows(runtime)
    failures: list[BaseException] = []

    def flood(address: str) -> None:
        try:
            for _ in range(per_thread):
                status = http.get(f"{API}/cases", headers=_from(address)).status_code
                assert status in (401, 429)
        except BaseException as error:  # noqa: BLE001  reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=flood, args=(a,)) for a in addresses for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert _rows(runtime) == before + len(addresses)  # one first refusal per address

    _end_windows(runtime)
    _summarise_now(runtime)
    events = _events(runtime)[before:]
    assert len(events) == 2 * len(addresses)
    for address in addresses:
        single, counted = _accounted(events, address)
        assert single + counted == 2 * per_thread, address
