"""Reading one case: `GET /cases/{id}`."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services import audit
from services.cases.access import load_visible_case
from services.cases.loading import view_of
from services.cases.views import CaseView
from services.crypto import Keyring
from services.policy import Action, Principal


def read_case(
    session: Session, keyring: Keyring, principal: Principal, case_id: uuid.UUID
) -> CaseView:
    case = load_visible_case(session, principal, case_id, Action.CASE_READ)
    view = view_of(session, keyring, case)
    audit.record(
        session,
        principal,
        Action.CASE_READ.value,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
    )
    return view
