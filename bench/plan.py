"""The dataset's layout, the same for Haven and the baseline: who owns which case, with what.

Case `i` has body `case_body(Random(i))`, belongs to agency `i % AGENCIES` and to one of that
agency's caseworkers; it has 2 to 4 notes, every third case a referral to a partner agency, and
(Haven only) about 20 audit events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.dataset import case_body, note_text, referral_body

AGENCIES = 4
PARTNERS = 2
CASES_PER_CASEWORKER = 250
AUDIT_EVENTS_PER_CASE = 20
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Layout:
    cases: int

    @property
    def caseworkers_per_agency(self) -> int:
        return max(1, self.cases // (AGENCIES * CASES_PER_CASEWORKER))

    def agency_of(self, i: int) -> int:
        return i % AGENCIES

    def owner_of(self, i: int) -> tuple[int, int]:
        """(agency index, caseworker index within the agency)."""
        return i % AGENCIES, (i // AGENCIES) % self.caseworkers_per_agency

    def created_at(self, i: int) -> datetime:
        # spread over ~2 years, increasing with i (so "newest first" lists are realistic)
        span = timedelta(days=700).total_seconds()
        return EPOCH + timedelta(seconds=span * i / max(1, self.cases))


def case_rng(i: int) -> random.Random:
    return random.Random(1_000_003 * i + 17)


@dataclass(frozen=True)
class CaseData:
    index: int
    body: dict[str, Any]
    notes: list[str]
    referral: dict[str, Any] | None


def case_data(i: int) -> CaseData:
    rng = case_rng(i)
    body = case_body(rng)
    notes = [note_text(rng) for _ in range(2 + i % 3)]
    referral = referral_body(rng) if i % 3 == 0 else None
    return CaseData(index=i, body=body, notes=notes, referral=referral)


FIRST_ACTION_HOURS = {"high": 24, "medium": 72, "low": 168}
