"""Services delivered: `POST /cases/{id}/services`, `GET /cases/{id}/services`, and the service a
partner's referral outcome records by itself (`referral_outcome.py`).

The service type, the day, who provided it and the referral are plain columns (they route and
count the work, like a referral's own columns); the description and outcome are sealed under
the case's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.cases import Case
from models.casework import ServiceDelivery
from models.referrals import Referral
from services.cases.access import case_data_key
from services.cases.records import open_record, seal_record
from services.casework import common
from services.casework.enums import ProvidedBy
from services.crypto import Keyring
from services.errors import FieldProblem, InvalidInput
from services.kit import idempotency
from services.policy import Action, Principal

TABLE = "case_services"
KIND = "service"
TEXT_FIELDS = ("description", "outcome")


@dataclass(frozen=True)
class ServiceView:
    id: uuid.UUID
    case_id: uuid.UUID
    service_type: str
    provided_on: date
    provided_by: str
    referral_id: uuid.UUID | None
    description: str | None
    outcome: str | None
    recorded_by_type: str
    recorded_by: uuid.UUID
    created_at: datetime
    replayed: bool = False


def view_of(dek: bytes, row: ServiceDelivery, *, replayed: bool = False) -> ServiceView:
    document = open_record(
        dek, row.content_encrypted, table=TABLE, record_id=row.id, case_id=row.case_id, kind=KIND
    )
    return ServiceView(
        id=row.id,
        case_id=row.case_id,
        service_type=row.service_type,
        provided_on=row.provided_on,
        provided_by=row.provided_by,
        referral_id=row.referral_id,
        description=document.get("description"),
        outcome=document.get("outcome"),
        recorded_by_type=row.recorded_by_type,
        recorded_by=row.recorded_by,
        created_at=row.created_at,
        replayed=replayed,
    )


def new_service(
    dek: bytes,
    case: Case,
    *,
    service_type: str,
    provided_on: date,
    provided_by: ProvidedBy,
    referral_id: uuid.UUID | None,
    description: str | None,
    outcome: str | None,
    recorded_by_type: str,
    recorded_by: uuid.UUID,
    service_id: uuid.UUID | None = None,
) -> ServiceDelivery:
    row = ServiceDelivery(
        id=service_id or new_id(),
        case_id=case.id,
        service_type=service_type,
        provided_on=provided_on,
        provided_by=provided_by.value,
        referral_id=referral_id,
        recorded_by_type=recorded_by_type,
        recorded_by=recorded_by,
        created_at=utcnow(),
    )
    row.content_encrypted = seal_record(
        dek,
        {"description": description, "outcome": outcome},
        table=TABLE,
        record_id=row.id,
        case_id=case.id,
        kind=KIND,
    )
    return row


def _validate(session: Session, case: Case, body: Mapping[str, Any], today: date) -> None:
    problems: list[FieldProblem] = []
    if date.fromisoformat(str(body["provided_on"])) > today:
        problems.append(FieldProblem(("body", "provided_on"), "Must not be in the future."))
    referral_id = body.get("referral_id")
    if referral_id is not None:
        referral = session.execute(
            select(Referral.service_type).where(
                Referral.id == uuid.UUID(str(referral_id)), Referral.case_id == case.id
            )
        ).first()
        if referral is None:
            problems.append(FieldProblem(("body", "referral_id"), "Not a referral of this case."))
        elif body["provided_by"] != ProvidedBy.PARTNER:
            problems.append(
                FieldProblem(("body", "provided_by"), "A service through a referral is `partner`.")
            )
    if problems:
        raise InvalidInput(problems)


def record_service(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    body: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
) -> ServiceView:
    case = common.load_case(session, principal, case_id, Action.SERVICE_CREATE)
    common.require_open(case)
    _validate(session, case, body, utcnow().date())
    service_id = new_id()
    claim = idempotency.claim(
        session,
        keyring,
        principal,
        idempotency_key,
        operation=f"service.create:{case.id}",
        body=dict(body),
        resource_type="service",
        resource_id=service_id,
        case_id=case.id,
    )
    dek = case_data_key(session, keyring, case)
    if claim.replay is not None:
        earlier = session.get(ServiceDelivery, claim.replay.resource_id)
        if earlier is None or earlier.case_id != case.id:  # pragma: no cover - erased together
            raise InvalidInput.field(idempotency.HEADER_LOC, "The earlier record no longer exists.")
        common.record(
            session,
            principal,
            Action.SERVICE_CREATE,
            resource_type="service",
            resource_id=earlier.id,
            case_id=case.id,
            detail={"idempotent_replay": True},
        )
        return view_of(dek, earlier, replayed=True)
    referral_id = body.get("referral_id")
    row = new_service(
        dek,
        case,
        service_type=str(body["service_type"]),
        provided_on=date.fromisoformat(str(body["provided_on"])),
        provided_by=ProvidedBy(body["provided_by"]),
        referral_id=uuid.UUID(str(referral_id)) if referral_id is not None else None,
        description=body.get("description"),
        outcome=body.get("outcome"),
        recorded_by_type="user",
        recorded_by=principal.id,
        service_id=service_id,
    )
    session.add(row)
    session.flush()
    common.record(
        session,
        principal,
        Action.SERVICE_CREATE,
        resource_type="service",
        resource_id=row.id,
        case_id=case.id,
        fields=[
            "service_type",
            "provided_on",
            "provided_by",
            *(name for name in ("referral_id", *TEXT_FIELDS) if body.get(name) is not None),
        ],
    )
    return view_of(dek, row)


def list_services(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = common.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> common.Page[ServiceView]:
    case = common.load_case(session, principal, case_id, Action.SERVICE_LIST)
    rows, next_cursor = common.newest_first(
        session,
        select(ServiceDelivery).where(ServiceDelivery.case_id == case.id),
        order="services",
        at_col=ServiceDelivery.created_at,
        id_col=ServiceDelivery.id,
        limit=limit,
        cursor=cursor,
    )
    dek = case_data_key(session, keyring, case)
    items = [view_of(dek, row) for row in rows]
    common.record(
        session,
        principal,
        Action.SERVICE_LIST,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        fields=list(TEXT_FIELDS) if items else [],
        detail={"count": len(items)},
    )
    return common.Page(items=items, next_cursor=next_cursor)
