"""Fixed values of the referral rules: the accepted value sets, the cancel reasons that mean
something, which states are live, and how long a partner has to answer."""

from __future__ import annotations

from datetime import timedelta

from services.config import Settings
from services.referrals.enums import ConsentBasis, ServiceType, Urgency
from services.referrals.states import Status

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
"""How far in the future a consent time may lie before it is refused (clocks differ)."""


def response_hours(settings: Settings, urgency: str) -> int:
    """How long the partner has to accept or decline, by urgency (settings)."""
    return {
        Urgency.HIGH: settings.referral_response_hours_high,
        Urgency.MEDIUM: settings.referral_response_hours_medium,
        Urgency.LOW: settings.referral_response_hours_low,
    }[Urgency(urgency)]
