"""Listing and searching cases: `GET /cases` with filters, name search and the overdue list.

Every query is restricted by `policy.case_filter`, so a caller only ever lists or finds the
cases it may see. Name search joins the blind-index tokens, decrypts the candidates (keys
unwrapped in one batch) and keeps only exact matches after normalisation, so a token
coincidence never returns a case. A page may then hold fewer than `limit` items; `next_cursor`
still continues after the last candidate examined.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from services import audit
from services.actions import Action
from services.cases.content import date_of_birth
from services.cases.enums import CaseStatus
from services.cases.loading import views_of
from services.cases.schedule import next_and_overdue
from services.cases.search_index import candidate_ids, matches_name
from services.cases.views import CasePage, CaseView, Schedule
from services.config import Settings
from services.crypto import Keyring, normalise
from services.errors import InvalidInput
from services.kit.cursor import Keyset, SortKey
from services.kit.pages import DEFAULT_LIMIT, check_limit
from services.policy import Principal, case_filter, case_listing_filter, require

RECENT = Keyset(
    "created",
    (
        SortKey(Case.created_at, datetime, descending=True),
        SortKey(Case.id, uuid.UUID, descending=True),
    ),
)
"""The default order: newest first."""
OVERDUE = Keyset("due", (SortKey(Case.next_action_due_at, datetime), SortKey(Case.id, uuid.UUID)))
"""`?overdue=true`: the longest overdue first."""


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
    where: str = "query"
    """Where the filters came from (`query`, or `body` for `POST /cases/search`): error locations
    name it."""

    def filter_names(self) -> list[str]:
        """Which filters were used (names only: the audit log never holds a searched value)."""
        names = [
            name
            for name in ("name", "date_of_birth", "risk_level", "status", "stage", "owner_id")
            if getattr(self, name) is not None
        ]
        return [*names, "overdue"] if self.overdue else names


def _schedule(settings: Settings, case: Case, now: datetime) -> Schedule:
    """Why a case is (or is not) overdue: plain columns, no decryption."""
    found, overdue = next_and_overdue(settings, case, now)
    return Schedule(
        next_kind=found[0].value if found else None,
        overdue=[(kind.value, at) for kind, at in overdue],
    )


def _views(
    session: Session, keyring: Keyring, principal: Principal, rows: Sequence[Case]
) -> list[CaseView]:
    """Decrypted views of the rows the caller may read; the others (restricted cases in a
    supervisor's oversight list) as plain-column summaries, never decrypted."""
    restricted = [row.id for row in rows if row.restricted]
    readable = (
        set(
            session.scalars(
                select(Case.id).where(
                    Case.id.in_(restricted), case_filter(principal, Case.agency_id, Case.owner_id)
                )
            )
        )
        if restricted
        else set()
    )
    opened = iter(
        views_of(session, keyring, [r for r in rows if not r.restricted or r.id in readable])
    )
    return [
        next(opened)
        if not row.restricted or row.id in readable
        else CaseView(case=row, document={}, withheld=True)
        for row in rows
    ]


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
            (query.where, "date_of_birth"), "date_of_birth only narrows a name search; add `name`."
        )
    if query.name is not None and not normalise(query.name):
        raise InvalidInput.field((query.where, "name"), "The name is empty after normalisation.")
    limit = check_limit(query.limit)

    # A name search reaches content (the blind index and the decrypted names), so it only ever
    # finds cases the caller may read; a plain list shows a supervisor every case of its agency,
    # restricted ones it may not read by their plain columns only.
    visible = (
        case_filter(principal, Case.agency_id, Case.owner_id)
        if query.name is not None
        else case_listing_filter(principal)
    )
    statement = select(Case).where(visible)
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

    keyset = RECENT
    if query.overdue:
        keyset = OVERDUE
        statement = statement.where(
            Case.status == CaseStatus.OPEN, Case.next_action_due_at < utcnow()
        )
    statement = keyset.select_page(statement, cursor=query.cursor, limit=limit)
    page = keyset.split(
        session.execute(statement).scalars().all(),
        limit,
        lambda row: (row.next_action_due_at if query.overdue else row.created_at, row.id),
    )
    rows = page.items
    views = _views(session, keyring, principal, rows)
    if query.name is not None:
        wanted_dob = query.date_of_birth.isoformat() if query.date_of_birth else None
        views = [
            view
            for view in views
            if not view.withheld
            and matches_name(view.document, query.name)
            and (wanted_dob is None or date_of_birth(view.document) == wanted_dob)
        ]
    now = utcnow()
    views = [replace(view, schedule=_schedule(settings, view.case, now)) for view in views]
    # One event for the whole page: it names every returned case (hashed into the chain), and
    # each case's access log finds it through the `audit_event_cases` index.
    audit.record(
        session,
        principal,
        action,
        resource_type="case",
        detail={"filters": query.filter_names(), "count": len(views)},
        listed_cases=[view.case.id for view in views],
    )
    return CasePage(items=views, next_cursor=page.next_cursor)
