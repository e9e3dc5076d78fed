"""One transaction per request, committed before the response is sent.

`TransactionalRoute` wraps every API endpoint: when the endpoint returns, the request's session
commits (and a failed commit becomes a 500, never a silently lost write); when it raises, the
session rolls back first, so the error mapper can then record a refusal in a fresh transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

SESSION_STATE_KEY = "db"


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


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except BaseException:
                await run_in_threadpool(_finish, request, False)
                raise
            await run_in_threadpool(_finish, request, True)
            return response

        return handle
