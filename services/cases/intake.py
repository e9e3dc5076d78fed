"""Case intake: `POST /cases` (caseworker; becomes the owner)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.cases import Case
from services import audit
from services.actions import Action
from services.cases.access import load_visible_case
from services.cases.content import DOCUMENT_KEYS, encrypt_document, validate_document
from services.cases.duplicates import find_duplicates
from services.cases.enums import CaseStatus, Stage
from services.cases.listeners import child_changed
from services.cases.loading import view_of
from services.cases.numbers import assign_case_number, provisional_number
from services.cases.restriction import record_restriction
from services.cases.schedule import reschedule
from services.cases.search_index import write_tokens
from services.cases.views import CaseView
from services.config import Settings
from services.crypto import Keyring, create_data_key
from services.kit import idempotency
from services.policy import Principal, require


def create_case(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    body: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
) -> CaseView:
    """Register a child. `body` is the contract's intake body in JSON form (dates as ISO text)."""
    require(principal, Action.CASE_CREATE)
    now = utcnow()
    validate_document(body, today=now.date())
    case_id = new_id()
    claim = idempotency.claim(
        session,
        keyring,
        principal,
        idempotency_key,
        operation=Action.CASE_CREATE,
        body=dict(body),
        resource_type="case",
        resource_id=case_id,
        case_id=case_id,
    )
    if claim.replay is not None:
        case = load_visible_case(session, principal, claim.replay.resource_id, Action.CASE_READ)
        view = view_of(session, keyring, case)
        duplicates = find_duplicates(
            session,
            keyring,
            settings,
            principal,
            view.document,
            exclude=case.id,
            registered=case.created_at.date(),
        )
        audit.record(
            session,
            principal,
            Action.CASE_CREATE,
            resource_type="case",
            resource_id=case.id,
            case_id=case.id,
            detail={"idempotent_replay": True},
        )
        return CaseView(
            case,
            view.document,
            possible_duplicates=duplicates.ids,
            duplicate_check=duplicates.check,
            replayed=True,
        )

    data_key_id, dek = create_data_key(session, keyring)
    document = {key: body.get(key) for key in DOCUMENT_KEYS}
    duplicates = find_duplicates(
        session, keyring, settings, principal, document, exclude=case_id, registered=now.date()
    )
    case = Case(
        id=case_id,
        # The real number is taken last (`assign_case_number`): the agency's counter row stays
        # locked from then until the commit, and every intake of the agency waits for it.
        case_number=provisional_number(case_id),
        agency_id=principal.agency_id,
        owner_id=principal.id,
        status=CaseStatus.OPEN,
        stage=Stage.REGISTRATION,
        risk_level=str(body["risk_level"]),
        restricted=bool(body.get("restricted")),
        data_key_id=data_key_id,
        content=encrypt_document(dek, case_id, document),
        created_at=now,
        updated_at=now,
        stage_changed_at=now,
    )
    reschedule(settings, case)
    session.add(case)
    session.flush()
    write_tokens(
        session, keyring, settings, case.id, document, registered=now.date(), replace=False
    )
    child_changed(session, keyring, settings, case, document, new=True)
    assign_case_number(session, case)
    audit.record(
        session,
        principal,
        Action.CASE_CREATE,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        fields=[key for key in (*DOCUMENT_KEYS, "risk_level") if body.get(key) is not None],
        detail={
            "possible_duplicates": len(duplicates.ids),
            "duplicate_check": duplicates.check.value,
        },
    )
    if case.restricted:
        record_restriction(session, principal, case, document)
    return CaseView(
        case, document, possible_duplicates=duplicates.ids, duplicate_check=duplicates.check
    )
