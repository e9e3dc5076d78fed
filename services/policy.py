"""The one authorization policy: who may do what, and which records they may see.

Two questions, asked in this order by every use case:
1. `require(principal, action)`: may this kind of principal ever do this action? If not, 403
   (`Forbidden`): the answer does not depend on any record, so it leaks nothing.
2. Object level: the record is loaded through a visibility filter (`case_filter`,
   `referral_filter`, `user_filter`, ...) so a record the principal may not see is simply not
   found (404, `NotFound`), exactly as if it did not exist. `can_see_case` and friends make the
   same decision for a record already in hand.

Admins and auditors never read case content; API clients act only through their scopes and only
on referrals addressed to their own agency.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, select, true

from models.access import BreakGlassUse, CaseAccess
from models.base import utcnow
from models.cases import Case
from services.actions import Action
from services.cases.enums import CaseStatus
from services.errors import Forbidden, NotFound
from services.identity.enums import PrincipalKind, Role, Scope
from services.referrals.enums import ReferralStatus

__all__ = [
    "PARTNER_LIVE_STATUSES",
    "PARTNER_VISIBLE_STATUSES",
    "ROLE_ACTIONS",
    "SCOPE_ACTIONS",
    "Action",
    "Principal",
    "Role",
    "Scope",
    "allowed",
    "approver_filter",
    "assignable_roles",
    "can_manage_agency_members",
    "can_see_case",
    "can_see_referral",
    "case_filter",
    "case_listing_filter",
    "not_found",
    "partner_sees_case_fields",
    "referral_filter",
    "require",
    "user_filter",
]
"""`Action`, `Role` and `Scope` are defined in `services.actions` and `services.identity.enums`;
they are re-exported here because every use case asks the policy about them."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff user (role) or a partner API client (scopes), of one agency."""

    kind: PrincipalKind
    id: uuid.UUID
    """User id, or the API client's row id."""
    agency_id: uuid.UUID
    name: str
    """Username, or the client's public `client_id`."""
    role: Role | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: uuid.UUID | None = None
    restricted_to: frozenset[str] = field(default_factory=frozenset)
    """Non-empty for a token good only for some steps (e.g. `mfa.enrol`, `password.change`)."""

    @property
    def is_user(self) -> bool:
        return self.kind == PrincipalKind.USER

    @property
    def is_client(self) -> bool:
        return self.kind == PrincipalKind.CLIENT


_CASE_ROLES = frozenset({Role.SUPERVISOR, Role.CASEWORKER})
_ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.AGENCY_ADMIN})
_ALL_STAFF = frozenset(Role)

# Which roles may ever attempt an action (object-level checks come after).
ROLE_ACTIONS: Mapping[Action, frozenset[Role]] = {
    Action.AGENCY_CREATE: frozenset({Role.SYSTEM_ADMIN}),
    # Every staff member may list agencies: caseworkers pick a referral's receiving agency.
    Action.AGENCY_LIST: _ALL_STAFF,
    Action.USER_CREATE: _ADMIN_ROLES,
    # Supervisors list only their agency's accounts waiting for approval (`approver_filter`).
    Action.USER_LIST: _ADMIN_ROLES | {Role.SUPERVISOR},
    Action.USER_READ: _ADMIN_ROLES,
    Action.USER_UPDATE: _ADMIN_ROLES,
    Action.USER_RESET_PASSWORD: _ADMIN_ROLES,
    # The second person of a two-person account change: never the agency admin who made it.
    Action.USER_APPROVE: frozenset({Role.SYSTEM_ADMIN, Role.SUPERVISOR}),
    Action.API_CLIENT_CREATE: _ADMIN_ROLES,
    Action.API_CLIENT_LIST: _ADMIN_ROLES,
    Action.API_CLIENT_DELETE: _ADMIN_ROLES,
    Action.CASE_CREATE: frozenset({Role.CASEWORKER}),
    Action.CASE_READ: _CASE_ROLES,
    Action.CASE_LIST: _CASE_ROLES,
    Action.CASE_SEARCH: _CASE_ROLES,
    Action.CASE_UPDATE: _CASE_ROLES,
    Action.CASE_STAGE: _CASE_ROLES,
    Action.CASE_ASSIGN: frozenset({Role.SUPERVISOR}),
    Action.CASE_CLOSE: frozenset({Role.SUPERVISOR}),
    Action.CASE_REOPEN: frozenset({Role.SUPERVISOR}),
    Action.CASE_ERASE: frozenset({Role.SUPERVISOR}),
    Action.CASE_ACCESS_LOG: frozenset({Role.SUPERVISOR}),
    Action.CASE_TIMELINE: _CASE_ROLES,
    Action.CASELOAD_READ: frozenset({Role.SUPERVISOR}),
    # The access list of a restricted case is managed by whoever may read the case: its owner,
    # listed colleagues, and supervisors who may read it.
    Action.CASE_ACCESS_LIST: _CASE_ROLES,
    Action.CASE_ACCESS_GRANT: _CASE_ROLES,
    Action.CASE_ACCESS_REVOKE: _CASE_ROLES,
    Action.CASE_BREAK_GLASS: frozenset({Role.SUPERVISOR}),
    # Break-glass uses are reviewed by auditors (every agency) or supervisors (their own).
    Action.BREAK_GLASS_LIST: frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    Action.BREAK_GLASS_REVIEW: frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    Action.ALERT_LIST: frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    # An alert is cleared by a supervisor of the reader's agency or by an auditor: an agency with
    # one supervisor has nobody else to clear an alert about that supervisor.
    Action.ALERT_CLEAR: frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    Action.NOTE_CREATE: _CASE_ROLES,
    Action.NOTE_LIST: _CASE_ROLES,
    # Casework records: whoever may work on the case; partners never (they hear of a case only
    # through a referral's shared fields). Approving a plan is a supervisor's decision.
    Action.ASSESSMENT_CREATE: _CASE_ROLES,
    Action.ASSESSMENT_LIST: _CASE_ROLES,
    Action.PLAN_READ: _CASE_ROLES,
    Action.PLAN_UPDATE: _CASE_ROLES,
    Action.PLAN_APPROVE: frozenset({Role.SUPERVISOR}),
    Action.SERVICE_CREATE: _CASE_ROLES,
    Action.SERVICE_LIST: _CASE_ROLES,
    Action.FOLLOW_UP_CREATE: _CASE_ROLES,
    Action.FOLLOW_UP_LIST: _CASE_ROLES,
    Action.REFERENCE_READ: _ALL_STAFF,
    Action.REFERRAL_CREATE: frozenset({Role.CASEWORKER}),
    Action.REFERRAL_READ: _CASE_ROLES,
    Action.REFERRAL_LIST: _CASE_ROLES,
    Action.REFERRAL_APPROVE: frozenset({Role.SUPERVISOR}),
    Action.REFERRAL_REJECT: frozenset({Role.SUPERVISOR}),
    Action.REFERRAL_CANCEL: _CASE_ROLES,
    Action.REFERRAL_ACCEPT: frozenset(),
    Action.REFERRAL_DECLINE: frozenset(),
    Action.REFERRAL_UPDATE: frozenset(),
    Action.REFERRAL_COMPLETE: frozenset(),
    Action.AUDIT_READ: frozenset({Role.AUDITOR}),
    Action.AUDIT_VERIFY: frozenset({Role.AUDITOR}),
    # Tracing requests are owned and seen like cases; a match is a supervisor's decision.
    Action.TRACING_CREATE: frozenset({Role.CASEWORKER}),
    Action.TRACING_READ: _CASE_ROLES,
    Action.TRACING_LIST: _CASE_ROLES,
    Action.TRACING_CLOSE: _CASE_ROLES,
    Action.TRACING_REUNIFY: frozenset({Role.SUPERVISOR}),
    Action.TRACING_MATCHES: _CASE_ROLES,
    Action.TRACING_CONFIRM: frozenset({Role.SUPERVISOR}),
    Action.TRACING_REJECT: frozenset({Role.SUPERVISOR}),
}

# Which scope lets a partner API client attempt an action.
SCOPE_ACTIONS: Mapping[Action, Scope] = {
    Action.REFERRAL_LIST: Scope.REFERRALS_READ,
    Action.REFERRAL_READ: Scope.REFERRALS_READ,
    Action.REFERENCE_READ: Scope.REFERRALS_READ,
    Action.REFERRAL_ACCEPT: Scope.REFERRALS_RESPOND,
    Action.REFERRAL_DECLINE: Scope.REFERRALS_RESPOND,
    Action.REFERRAL_UPDATE: Scope.REFERRALS_RESPOND,
    Action.REFERRAL_COMPLETE: Scope.REFERRALS_RESPOND,
}


def allowed(principal: Principal, action: Action) -> bool:
    """May this principal ever attempt `action`? (No record involved.)"""
    if principal.restricted_to:
        return False
    if principal.is_client:
        scope = SCOPE_ACTIONS.get(action)
        return scope is not None and scope in principal.scopes
    return principal.role is not None and principal.role in ROLE_ACTIONS.get(action, frozenset())


def require(principal: Principal, action: Action) -> None:
    if principal.restricted_to:
        steps = ", ".join(sorted(principal.restricted_to))
        raise Forbidden(
            f"This token is only good for: {steps}. Complete that first (see /auth/me).",
            action=action,
        )
    if not allowed(principal, action):
        if principal.is_client:
            scope = SCOPE_ACTIONS.get(action)
            detail = (
                f"This token lacks the scope {scope}, which {action.value} needs."
                if scope
                else f"API clients may not perform {action.value}."
            )
        else:
            detail = f"Your role may not perform {action.value}."
        raise Forbidden(detail, action=action)


def not_found(action: Action, resource_type: str, resource_id: object) -> NotFound:
    return NotFound(
        f"No {resource_type} with that id.",
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
    )


# --- cases ---------------------------------------------------------------------------------


def can_see_case(principal: Principal, *, agency_id: uuid.UUID, owner_id: uuid.UUID) -> bool:
    """Role-shaped case visibility: a supervisor sees its agency's cases, a caseworker its own.

    Only the first half of the rule: a restricted case is readable by fewer people, which needs
    the database (the access list, break-glass uses); `case_filter` applies both halves.
    """
    if principal.is_client or principal.restricted_to:
        return False
    if principal.role == Role.SUPERVISOR:
        return agency_id == principal.agency_id
    if principal.role == Role.CASEWORKER:
        return agency_id == principal.agency_id and owner_id == principal.id
    return False


def _listed(principal: Principal) -> ColumnElement[bool]:
    """The case is on the principal's access list."""
    listed: ColumnElement[bool] = Case.id.in_(
        select(CaseAccess.case_id).where(CaseAccess.user_id == principal.id)
    )
    return listed


def _broke_glass(principal: Principal) -> ColumnElement[bool]:
    """The principal holds an unexpired break-glass access to the case."""
    glass: ColumnElement[bool] = Case.id.in_(
        select(BreakGlassUse.case_id).where(
            BreakGlassUse.user_id == principal.id, BreakGlassUse.expires_at > utcnow()
        )
    )
    return glass


def case_filter(principal: Principal, agency_col: Any, owner_col: Any) -> ColumnElement[bool]:
    """What cases a principal may read (content and every sub-resource), as SQL.

    A supervisor: its agency's cases, except restricted ones it neither owns, is listed on, nor
    holds an unexpired break-glass access to. A caseworker: the cases of its agency it owns or is
    listed on. Everyone else: none. `agency_col` and `owner_col` are `Case`'s own columns (the
    need-to-know half of the rule reads `Case.id` and `Case.restricted`).
    """
    if principal.is_client or principal.restricted_to:
        return false()
    if principal.role == Role.SUPERVISOR:
        condition: ColumnElement[bool] = (agency_col == principal.agency_id) & (
            Case.restricted.is_(False)
            | (owner_col == principal.id)
            | _listed(principal)
            | _broke_glass(principal)
        )
        return condition
    if principal.role == Role.CASEWORKER:
        both: ColumnElement[bool] = (agency_col == principal.agency_id) & (
            (owner_col == principal.id) | _listed(principal)
        )
        return both
    return false()


def case_listing_filter(principal: Principal) -> ColumnElement[bool]:
    """Which cases appear in a principal's lists: for a supervisor every case of its agency
    (oversight: restricted ones it may not read appear without their content), for everyone
    else exactly what `case_filter` lets it read."""
    if principal.role == Role.SUPERVISOR and not principal.restricted_to:
        condition: ColumnElement[bool] = Case.agency_id == principal.agency_id
        return condition
    return case_filter(principal, Case.agency_id, Case.owner_id)


def _role_scope(principal: Principal, agency_col: Any, owner_col: Any) -> ColumnElement[bool]:
    """The role-shaped half of `case_filter`, for records owned like cases."""
    if principal.is_client or principal.restricted_to:
        return false()
    if principal.role == Role.SUPERVISOR:
        condition: ColumnElement[bool] = agency_col == principal.agency_id
        return condition
    if principal.role == Role.CASEWORKER:
        both: ColumnElement[bool] = (agency_col == principal.agency_id) & (
            owner_col == principal.id
        )
        return both
    return false()


def tracing_request_filter(
    principal: Principal, agency_col: Any, owner_col: Any
) -> ColumnElement[bool]:
    """Tracing requests are seen exactly like cases: a supervisor its agency's, a caseworker
    its own (an enquiry names a child and a family as much as a case does)."""
    return _role_scope(principal, agency_col, owner_col)


# --- referrals -----------------------------------------------------------------------------

PARTNER_VISIBLE_STATUSES = frozenset(
    {
        ReferralStatus.SENT,
        ReferralStatus.ACCEPTED,
        ReferralStatus.IN_PROGRESS,
        ReferralStatus.COMPLETED,
        ReferralStatus.DECLINED,
        ReferralStatus.CANCELLED,
    }
)
"""A partner lists referrals addressed to it once sent; never a pending or rejected one."""

PARTNER_LIVE_STATUSES = frozenset(
    {ReferralStatus.SENT, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS}
)
"""Only while a referral is live does the partner see any case field."""


def partner_sees_case_fields(status: str, case_status: str) -> bool:
    """Only a live referral of an OPEN case: closing a case ends every partner's access."""
    return status in PARTNER_LIVE_STATUSES and case_status == CaseStatus.OPEN


def can_see_referral(
    principal: Principal,
    *,
    status: str,
    was_sent: bool,
    to_agency_id: uuid.UUID,
    case_agency_id: uuid.UUID,
    case_owner_id: uuid.UUID,
) -> bool:
    """`was_sent`: a supervisor approved it once (a referral cancelled while still pending
    approval is `cancelled` too, but the partner never heard of it and must not now)."""
    if principal.restricted_to:
        return False
    if principal.is_client:
        return (
            to_agency_id == principal.agency_id and status in PARTNER_VISIBLE_STATUSES and was_sent
        )
    return can_see_case(principal, agency_id=case_agency_id, owner_id=case_owner_id)


def referral_filter(
    principal: Principal,
    *,
    status_col: Any,
    sent_at_col: Any,
    to_agency_col: Any,
    case_agency_col: Any,
    case_owner_col: Any,
) -> ColumnElement[bool]:
    """SQL condition equivalent to `can_see_referral`; `sent_at_col` is null until approved."""
    if principal.restricted_to:
        return false()
    if principal.is_client:
        condition: ColumnElement[bool] = (
            (to_agency_col == principal.agency_id)
            & status_col.in_(sorted(PARTNER_VISIBLE_STATUSES))
            & sent_at_col.is_not(None)
        )
        return condition
    return case_filter(principal, case_agency_col, case_owner_col)


# --- administration ------------------------------------------------------------------------


def user_filter(principal: Principal, agency_col: Any) -> ColumnElement[bool]:
    """Users (and API clients) an admin may see: all for a system admin, its own agency else."""
    if principal.role == Role.SYSTEM_ADMIN and not principal.restricted_to:
        return true()
    if principal.role == Role.AGENCY_ADMIN and not principal.restricted_to:
        condition: ColumnElement[bool] = agency_col == principal.agency_id
        return condition
    return false()


def approver_filter(principal: Principal, agency_col: Any) -> ColumnElement[bool]:
    """Accounts whose pending change this principal may approve (and so may see listed as
    pending): any for a system admin, its own agency's for a supervisor."""
    if principal.restricted_to or principal.is_client:
        return false()
    if principal.role == Role.SYSTEM_ADMIN:
        return true()
    if principal.role == Role.SUPERVISOR:
        condition: ColumnElement[bool] = agency_col == principal.agency_id
        return condition
    return false()


def can_manage_agency_members(principal: Principal, agency_id: uuid.UUID) -> bool:
    if principal.restricted_to or principal.is_client:
        return False
    if principal.role == Role.SYSTEM_ADMIN:
        return True
    return principal.role == Role.AGENCY_ADMIN and agency_id == principal.agency_id


def assignable_roles(principal: Principal) -> frozenset[Role]:
    """Roles an admin may hand out: only a system admin creates admins of other kinds."""
    if principal.role == Role.SYSTEM_ADMIN:
        return frozenset(Role)
    if principal.role == Role.AGENCY_ADMIN:
        return frozenset({Role.AGENCY_ADMIN, Role.SUPERVISOR, Role.CASEWORKER})
    return frozenset()
