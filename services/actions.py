"""Every action a principal can attempt, which is also every audit event's name.

The policy (`services.policy`) decides which roles and scopes may attempt each action; the audit
log (`services.audit.record`) names every event by one of them, so an event can never carry an
action the code does not know. Values are dotted `area.verb` names and are part of the public
audit API (`GET /audit/events?action=`): never rename one, add a new one.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # --- administration
    AGENCY_CREATE = "agency.create"
    AGENCY_LIST = "agency.list"
    USER_BOOTSTRAP = "user.bootstrap"
    USER_CREATE = "user.create"
    USER_LIST = "user.list"
    USER_READ = "user.read"
    USER_UPDATE = "user.update"
    USER_RESET_PASSWORD = "user.reset_password"  # noqa: S105 (an action name)
    USER_APPROVE = "user.approve"
    API_CLIENT_CREATE = "api_client.create"
    API_CLIENT_LIST = "api_client.list"
    API_CLIENT_DELETE = "api_client.delete"
    # --- logging in, tokens and the caller's own account
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOGIN_THROTTLED = "auth.login_throttled"
    AUTH_LOGIN_MFA_REQUIRED = "auth.login_mfa_required"
    AUTH_LOGIN_PENDING_APPROVAL = "auth.login_pending_approval"
    """The right password for an account whose last change still waits for approval."""
    AUTH_LOGIN_DISTRIBUTED_FAILURES = "auth.login_distributed_failures"
    AUTH_LOGOUT = "auth.logout"
    AUTH_PASSWORD_CHANGE = "auth.password_change"  # noqa: S105 (an action name)
    AUTH_TOKEN = "auth.token"  # noqa: S105 (an action name)
    AUTH_TOKEN_FAILED = "auth.token_failed"  # noqa: S105 (an action name)
    AUTH_TOKEN_THROTTLED = "auth.token_throttled"  # noqa: S105 (an action name)
    AUTH_TOKEN_REJECTED = "auth.token_rejected"  # noqa: S105 (an action name)
    MFA_ENROL = "mfa.enrol"
    MFA_CONFIRM = "mfa.confirm"
    MFA_DISABLE = "mfa.disable"
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used"
    ACCESS_DENIED = "access.denied"
    """A refusal that named no more precise action."""
    AUTH_ANONYMOUS_REFUSED = "auth.anonymous_refused"
    """A summary: refusals of unauthenticated requests from one address in one window, counted
    after the first (which has an event of its own)."""
    REQUEST_REFUSED = "request.refused"
    """A request refused for a reason other than access (a conflict, a stale or missing version,
    invalid input, throttling) on a route that names no more precise action."""
    REQUEST_FAILED = "request.failed"
    """A server error on a route that names no more precise action."""
    # --- cases
    CASE_CREATE = "case.create"
    CASE_READ = "case.read"
    CASE_LIST = "case.list"
    CASE_SEARCH = "case.search"
    CASE_UPDATE = "case.update"
    CASE_STAGE = "case.stage"
    CASE_ASSIGN = "case.assign"
    CASE_CLOSE = "case.close"
    CASE_REOPEN = "case.reopen"
    CASE_ERASE = "case.erase"
    CASE_ACCESS_LOG = "case.access_log"
    CASE_TIMELINE = "case.timeline"
    CASELOAD_READ = "caseload.read"
    NOTE_CREATE = "note.create"
    NOTE_LIST = "note.list"
    REFERENCE_READ = "reference.read"
    # --- casework
    ASSESSMENT_CREATE = "assessment.create"
    ASSESSMENT_LIST = "assessment.list"
    PLAN_READ = "plan.read"
    PLAN_UPDATE = "plan.update"
    PLAN_APPROVE = "plan.approve"
    SERVICE_CREATE = "service.create"
    SERVICE_LIST = "service.list"
    FOLLOW_UP_CREATE = "follow_up.create"
    FOLLOW_UP_LIST = "follow_up.list"
    # --- referrals
    REFERRAL_CREATE = "referral.create"
    REFERRAL_READ = "referral.read"
    REFERRAL_LIST = "referral.list"
    REFERRAL_APPROVE = "referral.approve"
    REFERRAL_REJECT = "referral.reject"
    REFERRAL_CANCEL = "referral.cancel"
    REFERRAL_ACCEPT = "referral.accept"
    REFERRAL_DECLINE = "referral.decline"
    REFERRAL_UPDATE = "referral.update"
    REFERRAL_COMPLETE = "referral.complete"
    # --- family tracing
    TRACING_CREATE = "tracing_request.create"
    TRACING_READ = "tracing_request.read"
    TRACING_LIST = "tracing_request.list"
    TRACING_CLOSE = "tracing_request.close"
    TRACING_REUNIFY = "tracing_request.reunify"
    TRACING_MATCHES = "tracing_match.list"
    TRACING_CONFIRM = "tracing_match.confirm"
    TRACING_REJECT = "tracing_match.reject"
    CASE_REUNIFIED = "case.reunified"
    """Recorded on each confirmed case when its tracing request is reunified."""
    # --- need to know: restricted cases, break-glass, alerts
    CASE_RESTRICT = "case.restrict"
    """A case was restricted or opened up again (at intake or by PATCH)."""
    CASE_ACCESS_LIST = "case.access_list"
    CASE_ACCESS_GRANT = "case.access_grant"
    CASE_ACCESS_REVOKE = "case.access_revoke"
    CASE_BREAK_GLASS = "case.break_glass"
    BREAK_GLASS_LIST = "break_glass.list"
    BREAK_GLASS_REVIEW = "break_glass.review"
    ALERT_LIST = "alert.list"
    ALERT_CLEAR = "alert.clear"
    ALERT_BULK_READ = "alert.bulk_read"
    """Recorded when a bulk-read alert is raised (the actor is the reader)."""
    # --- the audit log and the keys
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    KEYS_KEK_ADDED = "keys.kek_added"
    KEYS_ROTATED = "keys.rotated"
    KEYS_KEK_RETIRED = "keys.kek_retired"
    KEYS_TOKEN_PREPARED = "keys.token_prepared"  # noqa: S105  an action name, not a secret
    KEYS_MOVED_TO_PKCS11 = "keys.moved_to_pkcs11"
