"""When the case's next action is due, and what it is: `next_action_due_at` and the due items.

A case's work is due on several clocks, each read from plain columns of the case (never from
encrypted content, so supervisors' overdue lists and counts need no decryption):
- `first_assessment`: until an assessment is recorded (stages `registration` and `assessment`),
  `first_action_hours_<risk>` after intake;
- `case_review`: while the case has no plan (after registration, or once assessed),
  `review_days_<risk>` after the case entered its stage (or was reopened);
- `plan_action`: the earliest due date among the plan's open actions;
- `plan_review`: the plan's review date;
- `follow_up`: the next follow-up, as the latest follow-up set it.
`next_action_due_at` is the earliest of them; a closed case has nothing due. A due *date* (an
action's `due_on`) counts as due at the end of that day, UTC: it is late from the next day on.
Recomputed on intake, on a risk-level change, on every stage move, close and reopen, and on every
casework record that changes one of the inputs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from models.cases import Case
from services.cases.enums import DueKind, RiskLevel
from services.config import Settings

UNASSESSED_STAGES = frozenset({"registration", "assessment"})


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


def end_of_day(day: date) -> datetime:
    """A due date is met until the day is over (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def due_items(settings: Settings, case: Case) -> dict[DueKind, datetime]:
    """Every clock running on the case, from its plain columns."""
    if case.status == "closed":
        return {}
    items: dict[DueKind, datetime] = {}
    assessed = case.assessed_at is not None
    if not assessed and case.stage in UNASSESSED_STAGES:
        items[DueKind.FIRST_ASSESSMENT] = case.created_at + first_action_delay(
            settings, case.risk_level
        )
    has_plan = case.plan_review_due_on is not None
    if not has_plan and (case.stage != "registration" or assessed):
        items[DueKind.CASE_REVIEW] = case.stage_changed_at + review_delay(settings, case.risk_level)
    if case.plan_action_due_on is not None:
        items[DueKind.PLAN_ACTION] = end_of_day(case.plan_action_due_on)
    if case.plan_review_due_on is not None:
        items[DueKind.PLAN_REVIEW] = end_of_day(case.plan_review_due_on)
    if case.follow_up_due_on is not None:
        items[DueKind.FOLLOW_UP] = end_of_day(case.follow_up_due_on)
    return items


def next_action(settings: Settings, case: Case) -> tuple[DueKind, datetime] | None:
    """The earliest due item (ties: in `DueKind` order), or None."""
    items = due_items(settings, case)
    if not items:
        return None
    order = list(DueKind)
    return min(items.items(), key=lambda item: (item[1], order.index(item[0])))


def next_action_due(settings: Settings, case: Case) -> datetime | None:
    found = next_action(settings, case)
    return found[1] if found else None


def overdue_kinds(settings: Settings, case: Case, now: datetime) -> list[DueKind]:
    """Which kinds of work are late, earliest first."""
    order = list(DueKind)
    late = [(at, order.index(kind), kind) for kind, at in due_items(settings, case).items()]
    return [kind for at, _, kind in sorted(late) if at < now]


def overdue_items(settings: Settings, case: Case, now: datetime) -> list[tuple[DueKind, datetime]]:
    """The late items with their due times, earliest first."""
    items = due_items(settings, case)
    return [(kind, items[kind]) for kind in overdue_kinds(settings, case, now)]


def next_and_overdue(
    settings: Settings, case: Case, now: datetime
) -> tuple[tuple[DueKind, datetime] | None, list[tuple[DueKind, datetime]]]:
    """`next_action` and `overdue_items` at once, the clocks read once (lists show both for
    every case of a page)."""
    items = due_items(settings, case)
    if not items:
        return None, []
    ranked = sorted((at, _ORDER[kind], kind) for kind, at in items.items())
    at, _, kind = ranked[0]
    return (kind, at), [(kind, at) for at, _, kind in ranked if at < now]


_ORDER = {kind: position for position, kind in enumerate(DueKind)}


def reschedule(settings: Settings, case: Case) -> None:
    case.next_action_due_at = next_action_due(settings, case)
