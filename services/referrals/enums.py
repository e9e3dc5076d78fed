"""Value sets of a referral: status, urgency, consent basis, service type.

The one definition of each: the state machine (`states.py`), the policy, the API schemas and the
database's CHECK constraints (migration 0008) all take these.
"""

from __future__ import annotations

from enum import StrEnum


class ReferralStatus(StrEnum):
    """States of the referral state machine (moves: `states.TRANSITIONS`)."""

    PENDING_APPROVAL = "pending_approval"
    SENT = "sent"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Urgency(StrEnum):
    """How soon the partner must answer (hours per urgency: settings)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ConsentBasis(StrEnum):
    """Who consented to the referral; an override needs a written justification."""

    CAREGIVER = "caregiver"
    CHILD = "child"
    BEST_INTEREST_OVERRIDE = "best_interest_override"


class ServiceType(StrEnum):
    """Services a referral can ask a partner agency for."""

    MHPSS = "mhpss"
    MEDICAL = "medical"
    REHABILITATION = "rehabilitation"
    EDUCATION = "education"
    FAMILY_TRACING = "family_tracing"
    ALTERNATIVE_CARE = "alternative_care"
    LEGAL_AID = "legal_aid"
    DOCUMENTATION = "documentation"
    REINTEGRATION = "reintegration"
    LIVELIHOODS = "livelihoods"
    SHELTER = "shelter"
    GBV_RESPONSE = "gbv_response"
