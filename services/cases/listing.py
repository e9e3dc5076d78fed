"""Listing and searching cases: `GET /cases` with filters, name search and the overdue list.

Every query is restricted by `policy.case_filter`, so a caller only ever lists or finds the
cases it may see. Name search joins the blind-index tokens, decrypts the candidates (keys
unwrapped in one batch) and keeps only exact matches after normalisation, so a token
coincidence never returns a case. A page may then hold fewer than `limit` items; `next_cursor`
still continues after the last candidate examined.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from services import audit
from services.cases.content import date_of_birth
from services.cases.cursor import decode_cursor, encode_cursor
from services.cases.loading import views_of
from services.cases.search_index import candidate_ids, matches_name
from services.cases.views import CasePage
from services.config import Settings
from services.crypto import Keyring, normalise
from services.errors import InvalidInput
from services.policy import Action, Principal, case_filter, require

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class CaseQuery:
    name: str | None = None
    date_of_birth: date | None = None
    risk_level: str | None = None
    status: str | None = None
    stage: str | None = None
    owner_id: uuid.UUID | None = None
    overdue: bool = False
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def filter_names(self) -> list[str]:
        """Which filters were used (names only: the audit log never holds a searched value)."""
        names = [
            name
            for name in ("name", "date_of_birth", "risk_level", "status", "stage", "owner_id")
            if getattr(self, name) is not None
        ]
        return [*names, "overdue"] if self.overdue else names


# One branch per optional filter of the case list; together they compose one query.
def list_cases(  # noqa: C901
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    query: CaseQuery,
) -> CasePage:
    action = Action.CASE_SEARCH if query.name is not None else Action.CASE_LIST
    require(principal, action)
    if query.date_of_birth is not None and query.name is None:
        raise InvalidInput.field(
            ("query", "date_of_birth"), "date_of_birth only narrows a name search; add `name`."
        )
    if query.name is not None and not normalise(query.name):
        raise InvalidInput.field(("query", "name"), "The name is empty after normalisation.")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidInput.field(("query", "limit"), f"Must be between 1 and {MAX_LIMIT}.")

    statement = select(Case).where(case_filter(principal, Case.agency_id, Case.owner_id))
    if query.risk_level is not None:
        statement = statement.where(Case.risk_level == query.risk_level)
    if query.status is not None:
        statement = statement.where(Case.status == query.status)
    if query.stage is not None:
        statement = statement.where(Case.stage == query.stage)
    if query.owner_id is not None:
        statement = statement.where(Case.owner_id == query.owner_id)
    if query.name is not None:
        candidates = candidate_ids(keyring, settings, query.name)
        if candidates is None:  # pragma: no cover - rejected above
            return CasePage(items=[], next_cursor=None)
        statement = statement.where(Case.id.in_(candidates))

    if query.overdue:
        order = "due"
        statement = statement.where(Case.status == "open", Case.next_action_due_at < utcnow())
        if query.cursor is not None:
            at, last_id = decode_cursor(query.cursor, order)
            statement = statement.where(
                or_(
                    Case.next_action_due_at > at,
                    and_(Case.next_action_due_at == at, Case.id > last_id),
                )
            )
        statement = statement.order_by(Case.next_action_due_at.asc(), Case.id.asc())
    else:
        order = "created"
        if query.cursor is not None:
            at, last_id = decode_cursor(query.cursor, order)
            statement = statement.where(
                or_(Case.created_at < at, and_(Case.created_at == at, Case.id < last_id))
            )
        statement = statement.order_by(Case.created_at.desc(), Case.id.desc())

    rows = list(session.execute(statement.limit(query.limit + 1)).scalars().all())
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    views = views_of(session, keyring, rows)
    if query.name is not None:
        wanted_dob = query.date_of_birth.isoformat() if query.date_of_birth else None
        views = [
            view
            for view in views
            if matches_name(view.document, query.name)
            and (wanted_dob is None or date_of_birth(view.document) == wanted_dob)
        ]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        key = last.next_action_due_at if query.overdue else last.created_at
        if key is not None:
            next_cursor = encode_cursor(order, key, last.id)

    detail = {"filters": query.filter_names(), "count": len(views)}
    if not views:
        audit.record(session, principal, action.value, resource_type="case", detail=detail)
    for view in views:
        audit.record(
            session,
            principal,
            action.value,
            resource_type="case",
            resource_id=view.case.id,
            case_id=view.case.id,
            detail=detail,
        )
    return CasePage(items=views, next_cursor=next_cursor)
