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
    try:
        engine = request.app.state.engine
        with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
            connection.execute(text("SELECT 1 FROM alembic_version"))
    except Exception:  # noqa: BLE001  whatever stops the query, the database is not ready
        return False
    return True


@router.get(
    "/ready",
    response_model=HealthStatus,
    summary="Readiness: the database answers and is migrated",
    responses={503: {"description": "Database unreachable or not migrated"}},
)
async def ready(request: Request) -> object:
    if await run_in_threadpool(_database_answers, request):
        return HealthStatus(status="ready")
    return problem_response(503, "Not ready", "The database is unreachable or not migrated.")
