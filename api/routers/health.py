"""Liveness and readiness, unauthenticated, outside `/api/v1`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.problems import problem_response
from models.db import READ_ONLY_OPTION
from services import availability
from services.config import Settings

router = APIRouter(tags=["health"])


class HealthStatus(BaseModel):
    status: str = Field(
        description="`ok` from `/health` (the process answers) or `ready` from `/ready` (the "
        "database answers, is migrated, and the keyring is proven against it)."
    )


@router.get("/health", response_model=HealthStatus, summary="Liveness")
def health() -> HealthStatus:
    return HealthStatus(status="ok")


def _ready(keyring: object, engine: Engine) -> bool:
    if getattr(keyring, "problem", None) is not None:
        return False  # the keyring is not proven against the database (yet)
    return _database_answers(engine)


def _database_answers(engine: Engine) -> bool:
    try:
        with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
            connection.execute(text("SELECT 1 FROM alembic_version"))
    except Exception:  # noqa: BLE001  whatever stops the query, the database is not ready
        return False
    return True


def _probe(request: Request) -> asyncio.Task[bool]:
    """The database probe in flight, or a new one. While the database does not answer, every
    `/ready` call waits on the same probe, so a stall costs one thread, not one per call."""
    state = request.app.state
    probe: asyncio.Task[bool] | None = getattr(state, "ready_probe", None)
    if probe is None or probe.done() or probe.get_loop() is not asyncio.get_running_loop():
        probe = asyncio.ensure_future(
            run_in_threadpool(_ready, state.runtime.keyring, state.engine)
        )
        state.ready_probe = probe
    return probe


@router.get(
    "/ready",
    response_model=HealthStatus,
    summary="Readiness: the database answers, is migrated, and the keyring is proven against it",
    responses={
        503: {
            "description": "Database unreachable, not migrated, or not answering within "
            "`HAVEN_READY_TIMEOUT_SECONDS`, or the keyring not proven against it"
        }
    },
)
async def ready(request: Request) -> object:
    settings: Settings = request.app.state.settings
    probe = _probe(request)
    # Not wait_for: cancelling would wait for the blocked thread; the probe ends on its own.
    await asyncio.wait({probe}, timeout=settings.ready_timeout_seconds)
    if probe.done() and not probe.cancelled() and probe.result():
        return HealthStatus(status="ready")
    detail = (
        "The database is unreachable or not migrated, or the keyring is not proven against it."
        if probe.done()
        else f"The database did not answer within {settings.ready_timeout_seconds:g} s."
    )
    return problem_response(
        503,
        "Not ready",
        detail,
        headers={"Retry-After": str(availability.DATABASE_UNREACHABLE.retry_after_seconds)},
    )
