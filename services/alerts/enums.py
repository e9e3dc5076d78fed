"""Value sets of read tracking and alerts (CHECK constraints in the migrations match them)."""

from __future__ import annotations

from enum import StrEnum


class SubjectType(StrEnum):
    """What a tracked read opened: a case (staff) or a referral (partner clients)."""

    CASE = "case"
    REFERRAL = "referral"


class AlertKind(StrEnum):
    """Why an alert was raised."""

    BULK_READ = "bulk_read"
    """An actor opened more distinct records it does not own within an hour than the limit."""
