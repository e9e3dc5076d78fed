"""A case's access log: who read or changed it (the supervisors of the case's agency).

It lives with the cases, not with the audit queries, because it is a case use case first: the
case must be visible to the caller (404 otherwise) before its events are read; the audit
package stays below the case area and never imports it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services import audit
from services.actions import Action
from services.audit.queries import EventPage, case_events
from services.cases.access import load_visible_case
from services.kit.pages import DEFAULT_LIMIT
from services.policy import Principal


def case_access_log(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> EventPage:
    """`GET /cases/{id}/access-log` (supervisor of the case's agency): who read or changed it."""
    load_visible_case(session, principal, case_id, Action.CASE_ACCESS_LOG)
    page = case_events(session, case_id, limit=limit, cursor=cursor)
    audit.record(
        session,
        principal,
        Action.CASE_ACCESS_LOG,
        resource_type="case",
        resource_id=case_id,
        case_id=case_id,
        detail={"returned": len(page.items)},
    )
    return page
