"""Regression: many concurrent requests on a small pool neither stall nor fail.

Without `request_slots`, a worker with more requests in flight than threads could block every
thread waiting for a pooled connection while the connection holders waited for a thread: a 30 s
stall, then 500s (`QueuePool limit ... timed out`). Seen in the bench at 64 clients.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.routing import request_slots
from services.policy import Role
from services.runtime import Runtime
from tests.conftest import make_settings, new_runtime
from tests.databases import is_postgres, migrated_database
from tests.factories import API, make_agency, make_user, user_headers

CLIENTS = 64  # more than the thread pool's 40 threads plus the pool's connections


@pytest.fixture
def small_pool_runtime(tmp_var: Path) -> Iterator[Runtime]:
    """A fresh database with real commits and a two-connection pool (PostgreSQL honours the
    pool settings; SQLite keeps SQLAlchemy's default pool of 5 + 10)."""
    with migrated_database() as url:
        runtime = new_runtime(make_settings(url, tmp_var, db_pool_size=2, db_max_overflow=0))
        yield runtime
        runtime.engine.dispose()


def test_slots_leave_one_pooled_connection_spare(small_pool_runtime: Runtime) -> None:
    expected = 1 if is_postgres() else 5 + 10 - 1
    assert request_slots(small_pool_runtime.engine, small_pool_runtime.settings) == expected


def test_many_concurrent_requests_on_a_small_pool_all_succeed(
    small_pool_runtime: Runtime,
) -> None:
    runtime = small_pool_runtime
    with runtime.session_factory() as session, session.begin():
        user = make_user(session, make_agency(session), Role.CASEWORKER)
        headers = user_headers(session, user, runtime.settings)
    app = create_app(runtime=runtime)

    async def burst() -> Counter[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://haven") as http:
            responses = await asyncio.gather(
                *(http.get(f"{API}/reference/concerns", headers=headers) for _ in range(CLIENTS))
            )
        return Counter(response.status_code for response in responses)

    statuses = asyncio.run(burst())
    assert statuses == Counter({200: CLIENTS})
