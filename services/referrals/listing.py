"""Listing referrals: the filters, the three orders (keyset pages) and the audit of a list."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from models.referrals import Referral
from services import audit
from services.actions import Action
from services.cases.access import load_visible_case
from services.crypto import Keyring
from services.kit.cursor import Keyset, SortKey
from services.kit.pages import check_limit
from services.policy import Principal, require
from services.referrals.access import served, visible
from services.referrals.constants import URGENCIES
from services.referrals.enums import Urgency
from services.referrals.messages import ReferralPage, ReferralQuery
from services.referrals.states import Status
from services.referrals.views import KeyCache, build_view, load_updates

_URGENCY_RANK = case(
    *((Referral.urgency == urgency.value, rank) for rank, urgency in enumerate(URGENCIES[:-1])),
    else_=len(URGENCIES) - 1,
)


_BY_URGENCY = SortKey(_URGENCY_RANK, int, bound=len(URGENCIES))
REVIEW = Keyset(
    "review",
    (_BY_URGENCY, SortKey(Referral.created_at, datetime), SortKey(Referral.id, uuid.UUID)),
)
"""Supervisor review (`?status=pending_approval`): most urgent first, oldest first within one."""
OVERDUE = Keyset(
    "overdue", (SortKey(Referral.respond_due_at, datetime), SortKey(Referral.id, uuid.UUID))
)
"""`?overdue=true`: the longest overdue first."""
RECENT = Keyset(
    "recent",
    (
        SortKey(Referral.created_at, datetime, descending=True),
        SortKey(Referral.id, uuid.UUID, descending=True),
    ),
)
"""Every other listing: newest first."""


def _order_for(query: ReferralQuery) -> tuple[Keyset, Callable[[Referral], Sequence[Any]]]:
    """The listing's order, and the key values of a referral in that order."""
    if query.status == Status.PENDING_APPROVAL:
        return REVIEW, lambda r: (URGENCIES.index(Urgency(r.urgency)), r.created_at, r.id)
    if query.overdue:
        return OVERDUE, lambda r: (r.respond_due_at, r.id)
    return RECENT, lambda r: (r.created_at, r.id)


def _filtered(
    stmt: Select[Referral, Case], query: ReferralQuery, case_id: uuid.UUID | None
) -> Select[Referral, Case]:
    if case_id is not None:
        stmt = stmt.where(Referral.case_id == case_id)
    if query.status is not None:
        stmt = stmt.where(Referral.status == query.status)
    if query.service_type is not None:
        stmt = stmt.where(Referral.service_type == query.service_type)
    now = utcnow()
    if query.overdue is True:
        stmt = stmt.where(Referral.status == Status.SENT.value, Referral.respond_due_at < now)
    elif query.overdue is False:
        stmt = stmt.where(
            or_(
                Referral.status != Status.SENT.value,
                Referral.respond_due_at.is_(None),
                Referral.respond_due_at >= now,
            )
        )
    return stmt


def _list(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    query: ReferralQuery,
    *,
    case_id: uuid.UUID | None = None,
) -> ReferralPage:
    limit = check_limit(query.limit)
    stmt = select(Referral, Case).join(Case, Case.id == Referral.case_id).where(visible(principal))
    stmt = _filtered(stmt, query, case_id)
    keyset, values_of = _order_for(query)
    stmt = keyset.select_page(stmt, cursor=query.cursor, limit=limit)
    page = keyset.split(session.execute(stmt).all(), limit, lambda row: values_of(row[0]))
    rows = page.items
    updates = load_updates(session, [row[0].id for row in rows])
    cache = KeyCache(session, keyring)
    items = [
        build_view(session, cache, principal, row[0], row[1], updates[row[0].id]) for row in rows
    ]
    # One event for the whole page, not one per referral: it names every referral served, of
    # which case, with the names of the fields and the kind of view each one was served in (a
    # partner's minimised view is the evidence of what it saw), all covered by the chain's
    # hash; each case's access log finds it through the `audit_event_cases` index. A list does
    # not count towards bulk-read alerts (only opening one referral does).
    audit.record(
        session,
        principal,
        Action.REFERRAL_LIST,
        resource_type="referral",
        case_id=case_id,
        detail={
            "count": len(items),
            "status": query.status,
            "overdue": query.overdue,
            "service_type": query.service_type,
        },
        served=[served(item) for item in items],
    )
    return ReferralPage(items=items, next_cursor=page.next_cursor)


def list_referrals(
    session: Session, keyring: Keyring, principal: Principal, query: ReferralQuery
) -> ReferralPage:
    """Referrals the caller may see: staff through their cases, a partner those sent to it."""
    require(principal, Action.REFERRAL_LIST)
    return _list(session, keyring, principal, query)


def list_case_referrals(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    query: ReferralQuery,
) -> ReferralPage:
    """Every referral of one case (staff who may see the case)."""
    load_visible_case(session, principal, case_id, Action.REFERRAL_LIST)
    return _list(session, keyring, principal, query, case_id=case_id)
