"""One transaction per request, committed before the response is sent.

`TransactionalRoute` wraps every API endpoint: when the endpoint returns, the request's session
commits (and a failed commit becomes a 500, never a silently lost write); when it raises, the
session rolls back first, so the error mapper can then record a refusal in a fresh transaction.

At most one request fewer than the database pool has connections is in flight per event loop
(`request_slots`): a request that would wait for a pooled connection waits in the event loop,
not on a worker thread. Otherwise, with more requests in flight than threads, every thread can
block waiting for a connection while the connection holders wait for a thread to run their next
step: a 30 s stall, then 500s (`QueuePool limit ... timed out`).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool
from starlette.concurrency import run_in_threadpool

from services.config import Settings

SESSION_STATE_KEY = "db"
SLOTS_STATE_KEY = "db_slots"
_slots_lock = threading.Lock()


def _finish(request: Request, commit: bool) -> None:
    session: Session | None = getattr(request.state, SESSION_STATE_KEY, None)
    if session is None:
        return
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
        setattr(request.state, SESSION_STATE_KEY, None)


def request_slots(engine: Engine, settings: Settings) -> int:
    """How many API requests may be in flight at once: the pool's connections, less one.

    The spare connection serves the refusals the error mapper records after a request rolled
    back (outside the slot). The engine's own pool is the truth (on SQLite the engine keeps
    SQLAlchemy's default pool size); the settings are the fallback for an unbounded pool.
    """
    pool = engine.pool
    if isinstance(pool, QueuePool) and pool._max_overflow >= 0:
        capacity = pool.size() + pool._max_overflow
    else:
        capacity = settings.db_pool_size + settings.db_max_overflow
    return max(1, capacity - 1)


def _slots(request: Request) -> asyncio.Semaphore:
    # One semaphore per event loop (an asyncio.Semaphore belongs to one loop): a server worker
    # has one loop; tests may drive the same app from several TestClients, each with its own.
    loop = asyncio.get_running_loop()
    state = request.app.state
    with _slots_lock:
        per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] | None
        per_loop = getattr(state, SLOTS_STATE_KEY, None)
        if per_loop is None:
            per_loop = weakref.WeakKeyDictionary()
            setattr(state, SLOTS_STATE_KEY, per_loop)
        slots = per_loop.get(loop)
        if slots is None:
            slots = asyncio.Semaphore(request_slots(state.engine, state.settings))
            per_loop[loop] = slots
    return slots


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            async with _slots(request):
                try:
                    response = await handler(request)
                except BaseException:
                    await run_in_threadpool(_finish, request, False)
                    raise
                await run_in_threadpool(_finish, request, True)
                return response

        return handle
