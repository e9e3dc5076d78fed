"""Value sets of identity: staff roles, partner scopes, restricted-token steps, principal kinds.

The one definition of each: the policy, the settings (`HAVEN_MFA_REQUIRED_ROLES`), the API
schemas and the database's CHECK constraints (migration 0008) all take these.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A staff user's role; what each may do is `services.policy.ROLE_ACTIONS`."""

    SYSTEM_ADMIN = "system_admin"
    AGENCY_ADMIN = "agency_admin"
    SUPERVISOR = "supervisor"
    CASEWORKER = "caseworker"
    AUDITOR = "auditor"


class Scope(StrEnum):
    """An OAuth2 scope a partner API client may be granted."""

    REFERRALS_READ = "referrals:read"
    REFERRALS_RESPOND = "referrals:respond"


class TokenStep(StrEnum):
    """A step a restricted token is good for until the user has completed it."""

    PASSWORD_CHANGE = "password.change"  # noqa: S105 (a step name)
    MFA_ENROL = "mfa.enrol"


class PrincipalKind(StrEnum):
    """Who calls: a staff user, or a partner agency's API client."""

    USER = "user"
    CLIENT = "client"
