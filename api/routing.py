"""One transaction per request, committed before the response is sent.

`TransactionalRoute` wraps every API endpoint: when the endpoint returns, the request's session
commits (and a failed commit becomes a 500, never a silently lost write); when it raises, the
session rolls back first, so the error mapper can then record a refusal in a fresh transaction.

At most one request fewer than the database pool has connections is in flight per event loop
(`request_slots`): a request that would wait for a pooled connection waits in the event loop,
not on a worker thread. Otherwise, with more requests in flight than threads, every thread can
block waiting for a connection while the connection holders wait for a thread to run their next
step: a 30 s stall, then 500s (`QueuePool limit ... timed out`).

Every wait here is bounded, so a stalled database cannot make requests pile up without end:
- at most `HAVEN_REQUEST_QUEUE_LIMIT` requests wait for a slot, each at most
  `HAVEN_REQUEST_QUEUE_TIMEOUT_SECONDS`; beyond either, 503 at once;
- a request whose work has not finished after `HAVEN_REQUEST_TIMEOUT_SECONDS` answers 503. Its
  thread cannot be interrupted (it is blocked in the database driver), so it keeps its slot
  until it returns, and its transaction is then rolled back, never committed: a request that
  answered 503 leaves nothing behind unless its commit had already begun (a retry with the same
  Idempotency-Key is safe either way).
PostgreSQL's own timeouts (`models.db.DatabaseLimits`) end most waits earlier and more precisely;
this deadline is for a database that does not answer at all (paused, partitioned).
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

from services import availability, errors
from services.config import Settings

SESSION_STATE_KEY = "db"
SLOTS_STATE_KEY = "db_slots"
ABANDONED_STATE_KEY = "abandoned"
"""request.state: set when the request answered 503 before its work finished."""
_slots_lock = threading.Lock()


def _finish(request: Request, commit: bool) -> None:
    session: Session | None = getattr(request.state, SESSION_STATE_KEY, None)
    if session is None:
        return
    if getattr(request.state, ABANDONED_STATE_KEY, False):
        commit = False  # the client was told 503: nothing of it may be kept
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


class Slots:
    """One event loop's request slots: the semaphore, and how many requests wait for it or
    were abandoned (answered 503 while their thread still runs)."""

    def __init__(self, size: int) -> None:
        self.semaphore = asyncio.Semaphore(size)
        self.waiting = 0
        self.abandoned = 0

    async def enter(self, settings: Settings) -> None:
        """Take a slot, or raise `Unavailable` when too many wait or the wait is too long."""
        if self.semaphore.locked() and self.waiting >= settings.request_queue_limit:
            raise errors.Unavailable(self._why_full())
        self.waiting += 1
        try:
            await asyncio.wait_for(self.semaphore.acquire(), settings.request_queue_timeout_seconds)
        except TimeoutError:
            raise errors.Unavailable(self._why_full()) from None
        finally:
            self.waiting -= 1

    def _why_full(self) -> availability.Cause:
        # Slots held by requests the database never answered: name that, not "busy".
        return availability.DATABASE_NOT_ANSWERING if self.abandoned else availability.SERVER_BUSY

    def abandon(self, task: asyncio.Task[Response]) -> None:
        """The request answers now; `task` gives the slot back when it ends."""
        self.abandoned += 1

        def settle(done: asyncio.Task[Response]) -> None:
            self.abandoned -= 1
            self.semaphore.release()
            if not done.cancelled():
                done.exception()  # retrieved: its failure was expected, and is not reported

        task.add_done_callback(settle)


def _slots(request: Request) -> Slots:
    # One semaphore per event loop (an asyncio.Semaphore belongs to one loop): a server worker
    # has one loop; tests may drive the same app from several TestClients, each with its own.
    loop = asyncio.get_running_loop()
    state = request.app.state
    with _slots_lock:
        per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Slots] | None
        per_loop = getattr(state, SLOTS_STATE_KEY, None)
        if per_loop is None:
            per_loop = weakref.WeakKeyDictionary()
            setattr(state, SLOTS_STATE_KEY, per_loop)
        slots = per_loop.get(loop)
        if slots is None:
            slots = Slots(request_slots(state.engine, state.settings))
            per_loop[loop] = slots
    return slots


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except BaseException:
                await run_in_threadpool(_finish, request, False)
                raise
            await run_in_threadpool(_finish, request, True)
            return response

        async def handle(request: Request) -> Response:
            settings: Settings = request.app.state.settings
            slots = _slots(request)
            await slots.enter(settings)
            task = asyncio.ensure_future(run(request))
            try:
                await asyncio.wait({task}, timeout=settings.request_timeout_seconds)
            except BaseException:  # cancelled (the client went away): let the work end alone
                setattr(request.state, ABANDONED_STATE_KEY, True)
                slots.abandon(task)
                raise
            if not task.done():
                setattr(request.state, ABANDONED_STATE_KEY, True)
                slots.abandon(task)
                raise errors.Unavailable(availability.DATABASE_NOT_ANSWERING)
            slots.semaphore.release()
            return task.result()

        return handle
