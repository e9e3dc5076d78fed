"""What auditors and supervisors read from the audit log: event lists, verification.

Every function checks the policy first and records its own audit event (reading the audit log is
itself audited). Items never hold a value from a case: the log holds none.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models.audit import AuditEvent, AuditEventCase
from models.base import MAX_YEAR, MIN_YEAR, in_supported_range
from models.db import READ_ONLY_OPTION
from services.actions import Action
from services.audit.enums import ActorType
from services.audit.log import LISTED_CASES_KEY, SERVED_KEY, record
from services.audit.verify import VerifyReport, verify_log
from services.config import Settings
from services.crypto import Keyring
from services.database import end_request_reads
from services.errors import InvalidInput
from services.kit.cursor import Keyset, SortKey
from services.kit.pages import DEFAULT_LIMIT, Page, check_limit
from services.policy import Principal, require


@dataclass(frozen=True)
class EventFilters:
    case_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None


EventPage = Page[dict[str, Any]]
"""A page of audit events, each in the API's shape (`event_view`)."""


def event_view(event: AuditEvent) -> dict[str, Any]:
    """One event in the API's shape."""
    actor: dict[str, Any] = {
        "type": event.actor_type,
        "id": event.actor_id,
        "agency_id": event.actor_agency_id,
    }
    if event.actor_type == ActorType.CLIENT:
        actor["scopes"] = event.actor_scopes.split() if event.actor_scopes else []
    elif event.actor_type == ActorType.USER:
        actor["role"] = event.actor_role
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": actor,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "case_id": event.case_id,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "client_address": event.client_address,
        "fields": json.loads(event.fields) if event.fields else [],
        "detail": json.loads(event.detail) if event.detail else {},
        "hash": event.hash,
    }


BY_SEQ = Keyset("seq", (SortKey(AuditEvent.seq, int, bound=10**18),), plain_position=True)
"""Chain order; the cursor is the last `seq` served, in ASCII digits (an empty one is 422)."""


def _page(
    session: Session, conditions: list[ColumnElement[bool]], limit: int, cursor: str | None
) -> EventPage:
    limit = check_limit(limit)
    statement = BY_SEQ.select_page(
        select(AuditEvent).where(*conditions), cursor=cursor, limit=limit
    )
    page = BY_SEQ.split(session.execute(statement).scalars().all(), limit, lambda e: (e.seq,))
    return EventPage(items=[event_view(row) for row in page.items], next_cursor=page.next_cursor)


def list_events(
    session: Session,
    principal: Principal,
    filters: EventFilters,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> EventPage:
    """`GET /audit/events` (auditor): events in chain order, filtered, cursor on seq."""
    require(principal, Action.AUDIT_READ)
    conditions: list[ColumnElement[bool]] = []
    if filters.case_id is not None:
        conditions.append(AuditEvent.case_id == filters.case_id)
    if filters.actor_id is not None:
        conditions.append(AuditEvent.actor_id == filters.actor_id)
    if filters.action is not None:
        conditions.append(AuditEvent.action == filters.action)
    if filters.since is not None:
        since = filters.since if filters.since.tzinfo else filters.since.replace(tzinfo=UTC)
        if not in_supported_range(since):
            raise InvalidInput.field(
                ("query", "since"), f"must lie between the years {MIN_YEAR} and {MAX_YEAR}"
            )
        conditions.append(AuditEvent.at >= since)
    page = _page(session, conditions, limit, cursor)
    detail: dict[str, Any] = {
        name: str(value)
        for name, value in (
            ("case_id", filters.case_id),
            ("actor_id", filters.actor_id),
            ("action", filters.action),
            ("since", filters.since),
        )
        if value is not None
    }
    detail["returned"] = len(page.items)
    record(session, principal, Action.AUDIT_READ, resource_type="audit_log", detail=detail)
    return page


def case_events(
    session: Session, case_id: uuid.UUID, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> EventPage:
    """One page of the events of one case, in chain order: those about it, and the list events
    whose page showed it. No policy check and no audit event of its own: the caller
    (`services.cases.access_log`) has checked that the case is visible and records the read."""
    listed = select(AuditEventCase.seq).where(AuditEventCase.case_id == case_id)
    page = _page(
        session, [or_(AuditEvent.case_id == case_id, AuditEvent.seq.in_(listed))], limit, cursor
    )
    mine = str(case_id)
    for item in page.items:
        # A list event names every case of its page, and what it served of each record; this
        # case's log shows only that it was among them and what was served of its own records,
        # not which other cases were listed or what was seen of them.
        detail = item["detail"]
        detail.pop(LISTED_CASES_KEY, None)
        if SERVED_KEY in detail:
            detail[SERVED_KEY] = [s for s in detail[SERVED_KEY] if s.get("case_id") == mine]
    return page


def verify_for(
    session: Session, principal: Principal, settings: Settings, keyring: Keyring
) -> VerifyReport:
    """`GET /audit/verify` (auditor): recompute the chain and check it against the checkpoints."""
    require(principal, Action.AUDIT_VERIFY)
    report = _verify_from_snapshot(session, settings, keyring)
    record(
        session,
        principal,
        Action.AUDIT_VERIFY,
        resource_type="audit_log",
        detail={
            "valid": report.valid,
            "events_checked": report.events_checked,
            "first_invalid_seq": report.first_invalid_seq,
        },
    )
    return report


def _verify_from_snapshot(session: Session, settings: Settings, keyring: Keyring) -> VerifyReport:
    """Verify through a connection of its own, in a read-only snapshot, so a long verification
    holds up no writer.

    The request's transaction is ended first: on SQLite it has held the database's write lock
    since the caller's token was checked (every transaction there begins IMMEDIATE), and would
    hold it for the whole verification. Only reads happened by then (at most the token's
    last-use time was touched; that touch is dropped and made again on the next request), and
    the audit event of the verification is recorded afterwards in a new transaction.
    The snapshot is a deferred read transaction on SQLite (WAL: readers see the database as it
    was at their first read, and never block a writer) and REPEATABLE READ on PostgreSQL, so
    events appended meanwhile are simply not part of this verification. A session bound to a
    single connection (the tests' savepoint isolation) reads through that connection instead."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return verify_log(session.connection(), settings, keyring)
    end_request_reads(session)
    options: dict[str, Any] = {READ_ONLY_OPTION: True}
    if bind.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with bind.connect().execution_options(**options) as connection, connection.begin():
        return verify_log(connection, settings, keyring)
