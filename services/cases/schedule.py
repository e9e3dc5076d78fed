"""`next_action_due_at` from the risk level (settings `first_action_hours_*`, `review_days_*`).

- In `registration` the first assessment is due `first_action_hours_<risk>` after intake.
- In every later stage a review is due `review_days_<risk>` after the case entered the stage
  (or was reopened).
- A closed case has nothing due.
Recomputed on intake, on a risk-level change, on every stage move, on close and on reopen.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models.cases import Case
from services.cases.enums import CaseStatus, RiskLevel, Stage
from services.config import Settings


def first_action_delay(settings: Settings, risk_level: str) -> timedelta:
    hours = {
        RiskLevel.HIGH: settings.first_action_hours_high,
        RiskLevel.MEDIUM: settings.first_action_hours_medium,
        RiskLevel.LOW: settings.first_action_hours_low,
    }[RiskLevel(risk_level)]
    return timedelta(hours=hours)


def review_delay(settings: Settings, risk_level: str) -> timedelta:
    days = {
        RiskLevel.HIGH: settings.review_days_high,
        RiskLevel.MEDIUM: settings.review_days_medium,
        RiskLevel.LOW: settings.review_days_low,
    }[RiskLevel(risk_level)]
    return timedelta(days=days)


def next_action_due(settings: Settings, case: Case) -> datetime | None:
    if case.status == CaseStatus.CLOSED:
        return None
    if case.stage == Stage.REGISTRATION:
        return case.created_at + first_action_delay(settings, case.risk_level)
    return case.stage_changed_at + review_delay(settings, case.risk_level)


def reschedule(settings: Settings, case: Case) -> None:
    case.next_action_due_at = next_action_due(settings, case)
