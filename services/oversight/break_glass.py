"""Break-glass: a supervisor's time-limited access to a restricted case it was not given.

`POST /cases/{id}/break-glass {reason}`: a supervisor of the case's agency who may not read a
restricted case states why and reads it for `ACCESS` (60 minutes); the policy's case filter
honours the grant until it expires, and not a second longer. Every use is recorded (sealed
reason) and audited as `case.break_glass`, and listed for review (`GET /break-glass`) by
auditors (every agency) and supervisors (their own). A review (`POST /break-glass/{id}/review`)
is by an auditor or by a supervisor other than the one who broke the glass. A use nobody has
reviewed `break_glass_review_hours` after it began is overdue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from models.access import BreakGlassUse
from models.base import utcnow
from models.cases import Case
from services import audit
from services.actions import Action
from services.cases.access import case_not_found, require_on_case
from services.cases.loading import view_of
from services.cases.views import CaseView
from services.config import Settings
from services.crypto import Keyring
from services.errors import Conflict, Forbidden, NotFound
from services.kit.cursor import Keyset, SortKey
from services.kit.pages import DEFAULT_LIMIT, Page, check_limit
from services.oversight.sealing import open_text, seal_text
from services.policy import Principal, Role, case_filter, require

ACCESS = timedelta(minutes=60)
TABLE = "break_glass_uses"
RECENT = Keyset(
    "break_glass",
    (
        SortKey(BreakGlassUse.used_at, datetime, descending=True),
        SortKey(BreakGlassUse.id, uuid.UUID, descending=True),
    ),
)


@dataclass(frozen=True)
class BreakGlassView:
    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    agency_id: uuid.UUID
    user_id: uuid.UUID
    reason: str | None
    used_at: datetime
    expires_at: datetime
    active: bool
    reviewed_at: datetime | None
    reviewed_by: uuid.UUID | None
    review_note: str | None
    overdue: bool


@dataclass(frozen=True)
class BrokenGlass:
    case: CaseView
    use: BreakGlassView


def _view(
    keyring: Keyring, settings: Settings, use: BreakGlassUse, now: datetime
) -> BreakGlassView:
    return BreakGlassView(
        id=use.id,
        case_id=use.case_id,
        case_number=use.case_number,
        agency_id=use.agency_id,
        user_id=use.user_id,
        reason=open_text(keyring, use.reason_sealed, table=TABLE, record_id=use.id, field="reason"),
        used_at=use.used_at,
        expires_at=use.expires_at,
        active=use.expires_at > now,
        reviewed_at=use.reviewed_at,
        reviewed_by=use.reviewed_by,
        review_note=open_text(
            keyring, use.review_note_sealed, table=TABLE, record_id=use.id, field="review_note"
        ),
        overdue=use.reviewed_at is None
        and use.used_at <= now - timedelta(hours=settings.break_glass_review_hours),
    )


def break_glass(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
    reason: str,
) -> BrokenGlass:
    action = Action.CASE_BREAK_GLASS
    require_on_case(principal, action, case_id)
    case = session.execute(
        select(Case).where(Case.id == case_id, Case.agency_id == principal.agency_id)
    ).scalar_one_or_none()
    if case is None:
        raise case_not_found(action, case_id)
    readable = session.scalar(
        select(Case.id).where(
            Case.id == case.id, case_filter(principal, Case.agency_id, Case.owner_id)
        )
    )
    if readable is not None:
        raise Conflict(
            "You may already read this case; break-glass is only for a restricted case you "
            "are not given (an earlier break-glass access is still running)."
            if case.restricted
            else "The case is not restricted: you may read it without breaking the glass."
        )
    now = utcnow()
    use = BreakGlassUse(
        id=uuid.uuid4(),
        case_id=case.id,
        case_number=case.case_number,
        agency_id=case.agency_id,
        user_id=principal.id,
        used_at=now,
        expires_at=now + ACCESS,
    )
    use.reason_sealed = seal_text(keyring, reason, table=TABLE, record_id=use.id, field="reason")
    session.add(use)
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        detail={"break_glass_id": str(use.id), "expires_at": use.expires_at.isoformat()},
    )
    return BrokenGlass(case=view_of(session, keyring, case), use=_view(keyring, settings, use, now))


def _scope(principal: Principal) -> ColumnElement[bool]:
    """Auditors review every agency's uses; a supervisor its own agency's."""
    if principal.role == Role.AUDITOR:
        return true()
    scoped: ColumnElement[bool] = BreakGlassUse.agency_id == principal.agency_id
    return scoped


def list_uses(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    *,
    overdue: bool | None = None,
    reviewed: bool | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[BreakGlassView]:
    require(principal, Action.BREAK_GLASS_LIST)
    limit = check_limit(limit)
    now = utcnow()
    due = now - timedelta(hours=settings.break_glass_review_hours)
    statement = select(BreakGlassUse).where(_scope(principal))
    if reviewed is not None:
        statement = statement.where(
            BreakGlassUse.reviewed_at.is_not(None)
            if reviewed
            else BreakGlassUse.reviewed_at.is_(None)
        )
    if overdue is True:
        statement = statement.where(
            BreakGlassUse.reviewed_at.is_(None), BreakGlassUse.used_at <= due
        )
    elif overdue is False:
        statement = statement.where(
            (BreakGlassUse.reviewed_at.is_not(None)) | (BreakGlassUse.used_at > due)
        )
    rows = (
        session.execute(RECENT.select_page(statement, cursor=cursor, limit=limit)).scalars().all()
    )
    page = RECENT.split(rows, limit, lambda use: (use.used_at, use.id))
    items = [_view(keyring, settings, use, now) for use in page.items]
    audit.record(
        session,
        principal,
        Action.BREAK_GLASS_LIST,
        resource_type="break_glass",
        detail={"count": len(items), "overdue": overdue, "reviewed": reviewed},
    )
    return Page(items=items, next_cursor=page.next_cursor)


def review_use(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    use_id: uuid.UUID,
    note: str,
) -> BreakGlassView:
    action = Action.BREAK_GLASS_REVIEW
    require(principal, action)
    use = session.execute(
        select(BreakGlassUse).where(BreakGlassUse.id == use_id, _scope(principal)).with_for_update()
    ).scalar_one_or_none()
    if use is None:
        raise NotFound(
            "No break-glass use with that id.",
            action=action,
            resource_type="break_glass",
            resource_id=use_id,
        )
    if use.user_id == principal.id:
        raise Forbidden(
            "A break-glass use is reviewed by an auditor or another supervisor, never by the "
            "one who used it.",
            action=action,
            resource_type="break_glass",
            resource_id=use.id,
            case_id=use.case_id,
        )
    if use.reviewed_at is not None:
        raise Conflict("This use has already been reviewed.")
    now = utcnow()
    use.reviewed_at = now
    use.reviewed_by = principal.id
    use.review_note_sealed = seal_text(
        keyring, note, table=TABLE, record_id=use.id, field="review_note"
    )
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="break_glass",
        resource_id=use.id,
        case_id=use.case_id,
        detail={"used_by": str(use.user_id)},
    )
    return _view(keyring, settings, use, now)


def count_overdue(session: Session, settings: Settings) -> dict[uuid.UUID, int]:
    """Unreviewed uses past the review deadline, per agency (for the overdue sweep)."""
    due = utcnow() - timedelta(hours=settings.break_glass_review_hours)
    counts: dict[uuid.UUID, int] = {}
    for agency_id in session.scalars(
        select(BreakGlassUse.agency_id).where(
            BreakGlassUse.reviewed_at.is_(None), BreakGlassUse.used_at <= due
        )
    ):
        counts[agency_id] = counts.get(agency_id, 0) + 1
    return counts
