"""The plaintext baseline service: `uvicorn --factory bench.baseline.app:create_app`.

Written the way a competent team would write a plain CRUD service on Haven's stack: one pooled
session per request, strict request models, declared response models, keyset pagination, bearer
tokens stored as SHA-256 and looked up by hash (with expiry and revocation), optimistic
concurrency with If-Match. No encryption, no policy module, no audit log.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import create_engine, func, or_, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.baseline.models import (
    CASE_NUMBER_COUNTER,
    CASE_NUMBERS,
    AccessToken,
    Case,
    User,
    full_name_expr,
)

FIRST_ACTION_HOURS = {"high": 24, "medium": 72, "low": 168}


# --- schemas: the contract's shapes ----------------------------------------------------------
class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Child(Strict):
    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    sex: Literal["female", "male", "other", "unknown"]
    date_of_birth: date | None = None
    estimated_age: int | None = Field(default=None, ge=0, le=25)


class Location(Strict):
    governorate: str = Field(min_length=1, max_length=100)
    district: str = Field(min_length=1, max_length=100)
    address: str | None = Field(default=None, max_length=500)


class Caregiver(Strict):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=40)


Risk = Literal["high", "medium", "low"]
Separation = Literal["unaccompanied", "separated", "with_caregiver", "unknown"]


class CaseIn(Strict):
    child: Child
    location: Location
    caregivers: list[Caregiver] = Field(default_factory=list, max_length=20)
    separation_status: Separation
    protection_concerns: list[str] = Field(default_factory=list, max_length=30)
    risk_level: Risk
    narrative: str | None = Field(default=None, max_length=20_000)


class CasePatch(Strict):
    child: Child | None = None
    location: Location | None = None
    caregivers: list[Caregiver] | None = Field(default=None, max_length=20)
    separation_status: Separation | None = None
    protection_concerns: list[str] | None = Field(default=None, max_length=30)
    risk_level: Risk | None = None
    narrative: str | None = Field(default=None, max_length=20_000)


class CaseOut(BaseModel):
    id: uuid.UUID
    case_number: str
    version: int
    status: str
    stage: str
    agency_id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    next_action_due_at: datetime | None
    closure_requested_at: datetime | None = None
    closed_at: datetime | None = None
    risk_level: str
    child: Child
    location: Location
    caregivers: list[Caregiver]
    separation_status: str
    protection_concerns: list[str]
    narrative: str | None


class CaseList(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


def to_out(case: Case) -> CaseOut:
    return CaseOut(
        id=case.id,
        case_number=case.case_number,
        version=case.version,
        status=case.status,
        stage=case.stage,
        agency_id=case.agency_id,
        owner_id=case.owner_id,
        created_at=case.created_at,
        updated_at=case.updated_at,
        next_action_due_at=case.next_action_due_at,
        child=Child(
            given_name=case.given_name,
            family_name=case.family_name,
            sex=case.sex,  # type: ignore[arg-type]
            date_of_birth=date.fromisoformat(case.date_of_birth) if case.date_of_birth else None,
            estimated_age=case.estimated_age,
        ),
        location=Location(
            governorate=case.governorate, district=case.district, address=case.address
        ),
        caregivers=[Caregiver(**item) for item in case.caregivers],
        separation_status=case.separation_status,
        protection_concerns=case.protection_concerns,
        risk_level=case.risk_level,
        narrative=case.narrative,
    )


def apply_body(case: Case, body: CaseIn | CasePatch) -> None:
    if body.child is not None:
        case.given_name = body.child.given_name
        case.family_name = body.child.family_name
        case.sex = body.child.sex
        born = body.child.date_of_birth
        case.date_of_birth = born.isoformat() if born else None
        case.estimated_age = body.child.estimated_age
    if body.location is not None:
        case.governorate = body.location.governorate
        case.district = body.location.district
        case.address = body.location.address
    if body.caregivers is not None:
        case.caregivers = [c.model_dump() for c in body.caregivers]
    if body.separation_status is not None:
        case.separation_status = body.separation_status
    if body.protection_concerns is not None:
        case.protection_concerns = body.protection_concerns
    if body.risk_level is not None:
        case.risk_level = body.risk_level
    if body.narrative is not None:
        case.narrative = body.narrative


def encode_cursor(created_at: datetime, case_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{case_id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, case_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(case_id)
    except ValueError:
        raise HTTPException(422, "bad cursor") from None


# --- dependencies -------------------------------------------------------------------------------
def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]


def get_user(db: Db, authorization: Annotated[str | None, Header()] = None) -> User:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "bearer token required")
    digest = hashlib.sha256(authorization[7:].strip().encode()).hexdigest()
    row = db.execute(
        select(AccessToken.expires_at, AccessToken.revoked_at, User)
        .join(User, User.id == AccessToken.user_id)
        .where(AccessToken.token_hash == digest)
    ).first()
    # SQLite gives datetimes back without their zone (stored as UTC).
    expires = row.expires_at.replace(tzinfo=UTC) if row and not row.expires_at.tzinfo else None
    if (
        row is None
        or row.revoked_at is not None
        or (expires or row.expires_at) <= datetime.now(UTC)
    ):
        raise HTTPException(401, "invalid token")
    user: User = row[2]
    return user


CurrentUser = Annotated[User, Depends(get_user)]
router = APIRouter(prefix="/api/v1")


@router.post("/cases", status_code=201, response_model=CaseOut, summary="Intake")
def create_case(body: CaseIn, db: Db, user: CurrentUser, response: Response) -> CaseOut:
    now = datetime.now(UTC)
    if db.get_bind().dialect.name == "sqlite":
        number = db.execute(
            update(CASE_NUMBER_COUNTER)
            .values(value=CASE_NUMBER_COUNTER.c.value + 1)
            .returning(CASE_NUMBER_COUNTER.c.value)
        ).scalar_one()
    else:
        number = db.execute(select(CASE_NUMBERS.next_value())).scalar_one()
    case = Case(
        case_number=f"BL-{now.year}-{number:06d}",
        agency_id=user.agency_id,
        owner_id=user.id,
        status="open",
        stage="registration",
        created_at=now,
        updated_at=now,
        next_action_due_at=now + timedelta(hours=FIRST_ACTION_HOURS[body.risk_level]),
    )
    apply_body(case, body)
    db.add(case)
    db.commit()
    response.headers["ETag"] = f'"{case.version}"'
    return to_out(case)


@router.get("/cases/{case_id}", response_model=CaseOut, summary="Read a case")
def read_case(case_id: uuid.UUID, db: Db, _user: CurrentUser, response: Response) -> CaseOut:
    case = db.get(Case, case_id)
    if case is None:
        raise HTTPException(404, "not found")
    response.headers["ETag"] = f'"{case.version}"'
    return to_out(case)


@router.patch("/cases/{case_id}", response_model=CaseOut, summary="Update a case")
def update_case(
    case_id: uuid.UUID,
    body: CasePatch,
    db: Db,
    _user: CurrentUser,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CaseOut:
    if if_match is None:
        raise HTTPException(428, "If-Match required")
    case = db.get(Case, case_id)
    if case is None:
        raise HTTPException(404, "not found")
    if if_match.strip('W/"') != str(case.version):
        raise HTTPException(412, "stale version")
    apply_body(case, body)
    case.updated_at = datetime.now(UTC)
    db.commit()  # version_id_col: compare-and-set on the version read above
    response.headers["ETag"] = f'"{case.version}"'
    return to_out(case)


@router.get("/cases", response_model=CaseList, summary="List or search cases")
def list_cases(
    db: Db,
    user: CurrentUser,
    name: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> CaseList:
    query = select(Case).where(Case.owner_id == user.id)
    if name:
        needle = " ".join(name.lower().split())
        query = query.where(
            or_(
                func.lower(Case.given_name) == needle,
                func.lower(Case.family_name) == needle,
                full_name_expr() == needle,
            )
        )
    if cursor:
        at, last_id = decode_cursor(cursor)
        query = query.where(tuple_(Case.created_at, Case.id) < tuple_(at, last_id))
    cases = db.scalars(
        query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1)
    ).all()
    more = len(cases) > limit
    cases = cases[:limit]
    next_cursor = encode_cursor(cases[-1].created_at, cases[-1].id) if more else None
    return CaseList(items=[to_out(c) for c in cases], next_cursor=next_cursor)


class RequestSlots:
    """At most `slots` API requests in flight per worker (pool connections - 1), waiting in the
    event loop: otherwise, with more requests than threads, every thread can block waiting for a
    pooled connection while the holders wait for a thread (a 30 s pool-timeout stall; seen at 64
    clients). The same guard as Haven's `TransactionalRoute`."""

    def __init__(self, app: ASGIApp, slots: int) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(slots)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        async with self.slots:
            await self.app(scope, receive, send)


def create_app() -> FastAPI:
    url = os.environ.get(
        "BENCH_BASELINE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/haven_bench_baseline"
    )
    pool_size = int(os.environ.get("BENCH_POOL_SIZE", "10"))
    max_overflow = int(os.environ.get("BENCH_MAX_OVERFLOW", "10"))
    if url.startswith("sqlite"):
        # The embedded database set up as Haven sets it up (WAL, the same synchronous level and
        # busy timeout, every transaction BEGIN IMMEDIATE), so the two differ only in the app.
        from models.db import make_engine

        engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    else:
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
        )
    app = FastAPI(title="Plaintext baseline")
    app.state.session_factory = sessionmaker(bind=engine, expire_on_commit=False)

    @app.get("/health", summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(router)
    from bench.baseline import casework  # its routes use this module's dependencies

    app.include_router(casework.router)
    app.add_middleware(RequestSlots, slots=max(1, pool_size + max_overflow - 1))
    return app
