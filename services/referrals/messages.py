"""What the referral use cases take and give back, apart from the views (`views.py`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kit.pages import DEFAULT_LIMIT, Page
from services.referrals.views import ReferralView


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
