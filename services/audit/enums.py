"""Value sets of an audit event: who acted (actor type) and how it ended (outcome).

Event names are `services.actions.Action`. `audit.record` takes only these; the table has no
CHECK constraints (an audit row is never refused: migration 0008 says why).
"""

from __future__ import annotations

from enum import StrEnum


class ActorType(StrEnum):
    USER = "user"
    CLIENT = "client"
    ANONYMOUS = "anonymous"
    """Not logged in: a login attempt, a token request, a refused bearer token."""
    SYSTEM = "system"
    """An operator's command (`haven keys rotate`, an account recovery), not an API caller."""


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    """A refusal (401, 403, 404, 429 ...), recorded in its own transaction."""
    ERROR = "error"
