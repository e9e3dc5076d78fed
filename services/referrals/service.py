"""Referral use cases: create, read, list, and every state change.

Order of checks in every use case (see `services.policy`): the role or scope may ever do the
action (403), the referral is visible to the caller (404, exactly as if it did not exist), the
state machine allows the move (409, nothing changes). A state change is one compare-and-set
UPDATE (`WHERE id = :id AND version = :seen`), so of two concurrent moves on one referral only
one can win; the other matches no row and gets `Conflict`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, case, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from models.base import MAX_YEAR, MIN_YEAR, in_supported_range, new_id, utcnow
from models.cases import Case
from models.identity import Agency
from models.referrals import Referral, ReferralUpdate
from services import audit
from services.actions import Action
from services.cases.access import CASE_FIELD_PATHS, encrypt_for_case, load_visible_case
from services.cases.enums import CaseStatus
from services.config import Settings
from services.crypto import Keyring
from services.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from services.kit import idempotency
from services.kit.cursor import Keyset, SortKey
from services.kit.pages import DEFAULT_LIMIT, Page, check_limit
from services.kit.versions import Versioned
from services.policy import Principal, referral_filter, require
from services.referrals.enums import ConsentBasis, ServiceType, Urgency
from services.referrals.states import Status, Transition, transition_for
from services.referrals.views import (
    REFERRALS_TABLE,
    UPDATES_TABLE,
    KeyCache,
    ReferralView,
    build_view,
    load_updates,
)

SERVICE_TYPES: frozenset[str] = frozenset(ServiceType)
URGENCIES: tuple[Urgency, ...] = tuple(Urgency)
"""Most urgent first: the supervisor's review queue sorts by this rank."""
CONSENT_BASES: frozenset[str] = frozenset(ConsentBasis)
CONSENT_WITHDRAWN = "consent_withdrawn"
"""The cancel reason that records a withdrawal of consent."""
CASE_CLOSED = "case_closed"
"""The cancel reason of the referrals a supervisor's case closure cancelled."""
LIVE_STATUSES = (
    Status.PENDING_APPROVAL,
    Status.SENT,
    Status.ACCEPTED,
    Status.IN_PROGRESS,
)
"""Referrals that closing their case cancels: every state that is not final."""
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class NewReferral:
    to_agency_id: uuid.UUID
    service_type: str
    urgency: str
    reason: str
    shared_fields: list[str]
    consent_given_by: str
    consent_obtained_at: datetime
    consent_note: str | None = None

    def canonical(self) -> dict[str, Any]:
        """The request as plain JSON values, for the idempotency fingerprint."""
        return {
            "to_agency_id": str(self.to_agency_id),
            "service_type": self.service_type,
            "urgency": self.urgency,
            "reason": self.reason,
            "shared_fields": list(self.shared_fields),
            "consent": {
                "given_by": self.consent_given_by,
                "obtained_at": self.consent_obtained_at.isoformat(),
                "note": self.consent_note,
            },
        }


@dataclass(frozen=True)
class ReferralQuery:
    status: str | None = None
    overdue: bool | None = None
    service_type: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


ReferralPage = Page[ReferralView]
"""A page of referrals (`GET /referrals`, `GET /cases/{id}/referrals`)."""


@dataclass(frozen=True)
class Created:
    referral: ReferralView
    created: bool
    """False when an Idempotency-Key replay returned the referral made earlier."""


def response_hours(settings: Settings, urgency: str) -> int:
    """How long the partner has to accept or decline, by urgency (settings)."""
    return {
        Urgency.HIGH: settings.referral_response_hours_high,
        Urgency.MEDIUM: settings.referral_response_hours_medium,
        Urgency.LOW: settings.referral_response_hours_low,
    }[Urgency(urgency)]


# --- loading -------------------------------------------------------------------------------


def _visible(principal: Principal) -> ColumnElement[bool]:
    return referral_filter(
        principal,
        status_col=Referral.status,
        sent_at_col=Referral.approved_at,
        to_agency_col=Referral.to_agency_id,
        case_agency_col=Case.agency_id,
        case_owner_col=Case.owner_id,
    )


def _not_found(session: Session, action: Action, referral_id: uuid.UUID) -> NotFound:
    # The caller learns nothing; the audit row names the case, so the case's history shows
    # the refused attempt.
    case_id = session.scalar(select(Referral.case_id).where(Referral.id == referral_id))
    return NotFound(
        "No referral with that id.",
        action=action,
        resource_type="referral",
        resource_id=referral_id,
        case_id=case_id,
    )


def _load(
    session: Session, principal: Principal, referral_id: uuid.UUID, action: Action
) -> tuple[Referral, Case]:
    require(principal, action)
    row = session.execute(
        select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.id == referral_id, _visible(principal))
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise _not_found(session, action, referral_id)
    return row[0], row[1]


def _view(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    referral: Referral,
    case_row: Case,
    keys: KeyCache | None = None,
) -> ReferralView:
    updates = load_updates(session, [referral.id])[referral.id]
    return build_view(
        session, keys or KeyCache(session, keyring), principal, referral, case_row, updates
    )


def _audit_read(
    session: Session, principal: Principal, view: ReferralView, *, via: str | None = None
) -> None:
    audit.record(
        session,
        principal,
        Action.REFERRAL_READ,
        resource_type="referral",
        resource_id=view.id,
        case_id=view.case_id,
        fields=view.fields_served,
        detail={"status": view.status, "view": view.view, **({"via": via} if via else {})},
    )


# --- create --------------------------------------------------------------------------------


def _validate(session: Session, case_row: Case, draft: NewReferral) -> None:
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for index, path in enumerate(draft.shared_fields):
        if path not in CASE_FIELD_PATHS:
            problems.append(
                FieldProblem(
                    ("body", "shared_fields", index),
                    "Unknown case field path; valid paths: " + ", ".join(sorted(CASE_FIELD_PATHS)),
                )
            )
        elif path in seen:
            problems.append(FieldProblem(("body", "shared_fields", index), "Listed twice."))
        seen.add(path)
    if draft.service_type not in SERVICE_TYPES:
        problems.append(FieldProblem(("body", "service_type"), "Unknown service type."))
    if draft.urgency not in URGENCIES:
        problems.append(FieldProblem(("body", "urgency"), "Must be high, medium or low."))
    if draft.consent_given_by not in CONSENT_BASES:
        problems.append(FieldProblem(("body", "consent", "given_by"), "Unknown consent basis."))
    if draft.consent_given_by == ConsentBasis.BEST_INTEREST_OVERRIDE and not (
        draft.consent_note and draft.consent_note.strip()
    ):
        problems.append(
            FieldProblem(
                ("body", "consent", "note"),
                "A best-interest override needs a written justification.",
            )
        )
    obtained = draft.consent_obtained_at
    if obtained.tzinfo is None:
        problems.append(FieldProblem(("body", "consent", "obtained_at"), "Needs a time zone."))
    elif not in_supported_range(obtained):
        problems.append(
            FieldProblem(
                ("body", "consent", "obtained_at"),
                f"Must lie between the years {MIN_YEAR} and {MAX_YEAR}.",
            )
        )
    elif obtained > utcnow() + CLOCK_SKEW:
        problems.append(
            FieldProblem(("body", "consent", "obtained_at"), "Cannot be in the future.")
        )
    if not draft.reason.strip():
        problems.append(FieldProblem(("body", "reason"), "Must not be empty."))
    if draft.to_agency_id == case_row.agency_id:
        problems.append(
            FieldProblem(("body", "to_agency_id"), "Refer to another agency than the case's own.")
        )
    elif session.get(Agency, draft.to_agency_id) is None:
        problems.append(FieldProblem(("body", "to_agency_id"), "No agency with that id."))
    if problems:
        raise InvalidInput(problems)


def create_referral(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    draft: NewReferral,
    *,
    idempotency_key: str | None = None,
) -> Created:
    """A caseworker proposes a referral of a case it owns; it awaits a supervisor's approval."""
    action = Action.REFERRAL_CREATE
    case_row = load_visible_case(session, principal, case_id, action)
    referral_id = new_id()
    claim = idempotency.claim(
        session,
        keyring,
        principal,
        idempotency_key,
        operation=f"referral.create:{case_id}",
        body=draft.canonical(),
        resource_type="referral",
        resource_id=referral_id,
        case_id=case_row.id,
    )
    if claim.replay is not None:
        referral, case_row = _load(session, principal, claim.replay.resource_id, action)
        view = _view(session, keyring, principal, referral, case_row)
        _audit_read(session, principal, view, via="idempotent_replay")
        return Created(referral=view, created=False)
    if case_row.status != CaseStatus.OPEN:
        raise Conflict("Referrals can only be made from an open case.")
    _validate(session, case_row, draft)

    keys = KeyCache(session, keyring)
    dek = keys.for_case(case_row)

    def seal(field: str, text: str) -> bytes:
        return encrypt_for_case(
            dek, text, table=REFERRALS_TABLE, record_id=referral_id, field=field
        )

    now = utcnow()
    referral = Referral(
        id=referral_id,
        case_id=case_row.id,
        from_agency_id=case_row.agency_id,
        to_agency_id=draft.to_agency_id,
        service_type=draft.service_type,
        urgency=draft.urgency,
        status=Status.PENDING_APPROVAL.value,
        version=1,
        shared_fields=list(draft.shared_fields),
        reason_encrypted=seal("reason", draft.reason),
        consent_given_by=draft.consent_given_by,
        consent_obtained_at=draft.consent_obtained_at,
        consent_note_encrypted=seal("consent_note", draft.consent_note)
        if draft.consent_note
        else None,
        created_by=principal.id,
        created_at=now,
        updated_at=now,
    )
    session.add(referral)
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="referral",
        resource_id=referral.id,
        case_id=case_row.id,
        fields=["reason", "shared_fields", "consent"]
        + (["consent.note"] if draft.consent_note else []),
        detail={
            "to_agency_id": str(draft.to_agency_id),
            "service_type": draft.service_type,
            "urgency": draft.urgency,
            "consent_given_by": draft.consent_given_by,
            "shared_fields": sorted(draft.shared_fields),
        },
    )
    view = _view(session, keyring, principal, referral, case_row, keys)
    _audit_read(session, principal, view, via=action.value)
    return Created(referral=view, created=True)


# --- read ----------------------------------------------------------------------------------


def get_referral(
    session: Session, keyring: Keyring, principal: Principal, referral_id: uuid.UUID
) -> ReferralView:
    referral, case_row = _load(session, principal, referral_id, Action.REFERRAL_READ)
    view = _view(session, keyring, principal, referral, case_row)
    _audit_read(session, principal, view)
    return view


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


def _list(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    query: ReferralQuery,
    *,
    case_id: uuid.UUID | None = None,
) -> ReferralPage:
    limit = check_limit(query.limit)
    stmt = select(Referral, Case).join(Case, Case.id == Referral.case_id).where(_visible(principal))
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
    keyset, values_of = _order_for(query)
    stmt = keyset.select_page(stmt, cursor=query.cursor, limit=limit)
    page = keyset.split(session.execute(stmt).all(), limit, lambda row: values_of(row[0]))
    rows = page.items
    updates = load_updates(session, [row[0].id for row in rows])
    cache = KeyCache(session, keyring)
    items = [
        build_view(session, cache, principal, row[0], row[1], updates[row[0].id]) for row in rows
    ]
    for item in items:
        if item.fields_served:
            _audit_read(session, principal, item, via="list")
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


# --- state changes -------------------------------------------------------------------------


def _compare_and_set(
    session: Session,
    referral: Referral,
    transition: Transition,
    values: dict[str, Any],
    expected_version: int,
) -> None:
    """One UPDATE that only matches the version the caller saw; 0 rows means someone else won."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Referral)
            .where(
                Referral.id == referral.id,
                Referral.version == expected_version,
                Referral.status == transition.from_status.value,
            )
            .values(
                status=transition.to_status.value,
                version=Referral.version + 1,
                updated_at=utcnow(),
                **values,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise REFERRAL_VERSIONS.stale_version(expected_version)
    session.refresh(referral)


REFERRAL_VERSIONS = Versioned("referral", stale=Conflict, malformed=InvalidInput)
"""A referral action on a stale version is 409 (the caller must decide again on what the
referral is now, unlike a case's 412); a malformed If-Match is 422 naming it."""


def _check_side(principal: Principal, transition: Transition) -> None:
    # `require` already limits each action to staff roles or to partner scopes; this states the
    # table's `side` explicitly so a policy edit cannot let the wrong side through.
    wanted_client = transition.side == "receiving"
    if principal.is_client != wanted_client:
        raise Forbidden(
            f"Only the {transition.side} side may perform {transition.action.value}.",
            action=transition.action,
            resource_type="referral",
        )


def act(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    referral_id: uuid.UUID,
    action: Action,
    *,
    text: str | None = None,
    if_match: int | None = None,
) -> ReferralView:
    """Apply one state-machine action; `text` is the reason, note or outcome it carries."""
    referral, case_row = _load(session, principal, referral_id, action)
    REFERRAL_VERSIONS.check(referral.version, if_match)
    transition = transition_for(referral.status, action)
    _check_side(principal, transition)
    if transition.side == "receiving" and case_row.status != CaseStatus.OPEN:
        # Closing a case cancels its live referrals; this holds even for a referral that
        # escaped that (older data): no partner works on, or reads, a closed case.
        raise Conflict("The referring agency closed this case; the referral is no longer active.")
    keys = KeyCache(session, keyring)
    now = utcnow()

    def seal(field: str, value: str) -> bytes:
        return encrypt_for_case(
            keys.for_case(case_row),
            value,
            table=REFERRALS_TABLE,
            record_id=referral.id,
            field=field,
        )

    def needs_text(name: str) -> str:
        if text is None or not text.strip():
            raise InvalidInput.field(("body", name), "Field required.")
        return text

    values: dict[str, Any] = {}
    fields: list[str] = []
    detail: dict[str, Any] = {
        "from": transition.from_status.value,
        "to": transition.to_status.value,
    }
    if action == Action.REFERRAL_APPROVE:
        if case_row.status != CaseStatus.OPEN:
            raise Conflict("The case is closed; reopen it before approving a referral.")
        values = {
            "approved_by": principal.id,
            "approved_at": now,
            "respond_due_at": now + timedelta(hours=response_hours(settings, referral.urgency)),
        }
    elif action == Action.REFERRAL_REJECT:
        values = {
            "rejected_by": principal.id,
            "rejected_at": now,
            "rejection_reason_encrypted": seal("rejection_reason", needs_text("reason")),
        }
        fields = ["rejection_reason"]
    elif action == Action.REFERRAL_ACCEPT:
        values = {"responded_by": principal.id, "responded_at": now}
    elif action == Action.REFERRAL_DECLINE:
        values = {
            "responded_by": principal.id,
            "responded_at": now,
            "decline_reason_encrypted": seal("decline_reason", needs_text("reason")),
        }
        fields = ["decline_reason"]
    elif action == Action.REFERRAL_COMPLETE:
        values = {
            "completed_by": principal.id,
            "completed_at": now,
            "outcome_encrypted": seal("outcome", needs_text("outcome")),
        }
        fields = ["outcome"]
    elif action == Action.REFERRAL_CANCEL:
        reason = needs_text("reason")
        values = {
            "cancelled_by": principal.id,
            "cancelled_at": now,
            "cancel_reason_encrypted": seal("cancel_reason", reason),
        }
        fields = ["cancel_reason"]
        withdrawn = reason.strip().lower() == CONSENT_WITHDRAWN
        if withdrawn:
            values |= {"consent_withdrawn_at": now, "consent_withdrawn_by": principal.id}
        detail["consent_withdrawn"] = withdrawn
    note: ReferralUpdate | None = None
    if action == Action.REFERRAL_UPDATE:
        note_id = new_id()
        note = ReferralUpdate(
            id=note_id,
            referral_id=referral.id,
            author_type=principal.kind,
            author_id=principal.id,
            author_agency_id=principal.agency_id,
            note_encrypted=encrypt_for_case(
                keys.for_case(case_row),
                needs_text("note"),
                table=UPDATES_TABLE,
                record_id=note_id,
                field="note",
            ),
            created_at=now,
        )
        fields = ["updates.note"]
        detail["update_id"] = str(note_id)

    _compare_and_set(
        session,
        referral,
        transition,
        values,
        referral.version if if_match is None else if_match,
    )
    if note is not None:
        session.add(note)
        session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="referral",
        resource_id=referral.id,
        case_id=referral.case_id,
        fields=fields,
        detail=detail,
    )
    view = _view(session, keyring, principal, referral, case_row, keys)
    if view.fields_served:
        # The answer itself discloses the view (a partner's `accept` returns the shared fields).
        _audit_read(session, principal, view, via=action.value)
    return view


def cancel_for_closed_case(
    session: Session, keyring: Keyring, principal: Principal, case_row: Case
) -> list[uuid.UUID]:
    """Cancel every live referral of a case being closed (reason `case_closed`), in the closing
    transaction: each is recorded like any cancel (by whom, when, audited), so the partner's
    access to the case fields ends with the commit. The caller has loaded `case_row` for
    update and checked that `principal` may close it. Returns the cancelled referrals' ids."""
    action = Action.REFERRAL_CANCEL
    require(principal, action)
    live = session.scalars(
        select(Referral)
        .where(
            Referral.case_id == case_row.id,
            Referral.status.in_([status.value for status in LIVE_STATUSES]),
        )
        .order_by(Referral.created_at, Referral.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if not live:
        return []
    dek = KeyCache(session, keyring).for_case(case_row)
    now = utcnow()
    cancelled: list[uuid.UUID] = []
    for referral in live:
        transition = transition_for(referral.status, action)
        _compare_and_set(
            session,
            referral,
            transition,
            {
                "cancelled_by": principal.id,
                "cancelled_at": now,
                "cancel_reason_encrypted": encrypt_for_case(
                    dek,
                    CASE_CLOSED,
                    table=REFERRALS_TABLE,
                    record_id=referral.id,
                    field="cancel_reason",
                ),
            },
            referral.version,
        )
        audit.record(
            session,
            principal,
            action,
            resource_type="referral",
            resource_id=referral.id,
            case_id=case_row.id,
            fields=["cancel_reason"],
            detail={
                "from": transition.from_status.value,
                "to": transition.to_status.value,
                "consent_withdrawn": False,
                "via": Action.CASE_CLOSE,
            },
        )
        cancelled.append(referral.id)
    return cancelled
