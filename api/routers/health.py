"""Liveness and readiness, unauthenticated, outside `/api/v1`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.problems import problem_response
from models.db import READ_ONLY_OPTION

router = APIRouter(tags=["health"])


class HealthStatus(BaseModel):
    status: str


@router.get("/health", response_model=HealthStatus, summary="Liveness")
def health() -> HealthStatus:
    return HealthStatus(status="ok")


def _database_answers(request: Request) -> bool:
    problem = getattr(request.app.state.runtime.keyring, "problem", None)
    if problem is not None:
        return False  # the keyring is not proven against the database (yet)
    try:
        engine = request.app.state.engine
        with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
            connection.execute(text("SELECT 1 FROM alembic_version"))
    except Exception:
        return False
    return True


@router.get(
    "/ready",
    response_model=HealthStatus,
    summary="Readiness: the database answers, is migrated, and the keyring is proven against it",
    responses={503: {"description": "Database unreachable or not migrated, or keyring not proven"}},
)
async def ready(request: Request) -> object:
    if await run_in_threadpool(_database_answers, request):
        return HealthStatus(status="ready")
    return problem_response(
        503,
        "Not ready",
        "The database is unreachable or not migrated, or the keyring is not proven against it.",
    )
