"""Reading one case: `GET /cases/{id}`."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cases import Case
from models.keys import DataKey
from services import audit
from services.actions import Action
from services.alerts.enums import SubjectType
from services.alerts.service import note_read
from services.cases.access import case_not_found, require_on_case
from services.cases.content import decrypt_document
from services.cases.views import CaseView
from services.config import Settings
from services.crypto import Keyring, KeyringError, WrappedKey
from services.policy import Principal, case_filter


def read_case(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
) -> CaseView:
    # The case and its wrapped data key in one query, through the same checks as
    # `load_visible_case`: the role may read cases (a refusal names the case), and
    # `policy.case_filter` decides visibility (404 otherwise).
    require_on_case(principal, Action.CASE_READ, case_id)
    row = session.execute(
        select(Case, DataKey.kek_version, DataKey.wrapped_key)
        .join(DataKey, DataKey.id == Case.data_key_id)
        .where(Case.id == case_id, case_filter(principal, Case.agency_id, Case.owner_id))
    ).first()
    if row is None:
        raise case_not_found(Action.CASE_READ, case_id)
    case, kek_version, wrapped = row
    if wrapped is None:
        raise KeyringError(f"data key {case.data_key_id} has been destroyed")
    dek = keyring.unwrap_data_key(WrappedKey(kek_version=kek_version, blob=wrapped))
    view = CaseView(case=case, document=decrypt_document(dek, case))
    audit.record(
        session,
        principal,
        Action.CASE_READ,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
    )
    if case.owner_id != principal.id:
        # Opening someone else's case counts towards a bulk-read alert.
        note_read(session, settings, principal, SubjectType.CASE, case.id)
    return view
