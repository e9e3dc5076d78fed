"""The schedule read from a case's plain columns: which clocks run, which is next, which are
late, and the stage gates' table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.cases import Case
from services.cases.enums import DueKind
from services.cases.schedule import due_items, end_of_day, next_action, overdue_kinds
from services.cases.stages import GATES, TRANSITIONS, CaseFacts, missing_for
from services.config import Settings

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def _case(stage: str = "registration", **columns: object) -> Case:
    values: dict[str, object] = {
        "stage": stage,
        "risk_level": "high",
        "status": "open",
        "created_at": CREATED,
        "stage_changed_at": CREATED + timedelta(days=2),
    }
    values.update(columns)
    return Case(**values)


def test_a_new_case_waits_for_its_first_assessment(settings: Settings) -> None:
    assert due_items(settings, _case()) == {DueKind.FIRST_ASSESSMENT: CREATED + timedelta(hours=24)}


def test_an_assessment_stops_the_first_clock_and_starts_the_review(settings: Settings) -> None:
    case = _case("assessment", assessed_at=CREATED + timedelta(hours=3))
    assert due_items(settings, case) == {
        DueKind.CASE_REVIEW: CREATED + timedelta(days=2) + timedelta(days=30)
    }


def test_a_plan_replaces_the_case_review(settings: Settings) -> None:
    case = _case(
        "implementation",
        assessed_at=CREATED,
        plan_action_due_on=date(2026, 1, 20),
        plan_review_due_on=date(2026, 1, 30),
        follow_up_due_on=date(2026, 1, 10),
    )
    assert due_items(settings, case) == {
        DueKind.PLAN_ACTION: end_of_day(date(2026, 1, 20)),
        DueKind.PLAN_REVIEW: end_of_day(date(2026, 1, 30)),
        DueKind.FOLLOW_UP: end_of_day(date(2026, 1, 10)),
    }
    assert next_action(settings, case) == (DueKind.FOLLOW_UP, datetime(2026, 1, 11, tzinfo=UTC))
    late = overdue_kinds(settings, case, datetime(2026, 1, 25, tzinfo=UTC))
    assert late == [DueKind.FOLLOW_UP, DueKind.PLAN_ACTION]
    # A due date is met until its day is over.
    assert overdue_kinds(settings, case, datetime(2026, 1, 10, 23, 59, tzinfo=UTC)) == []


def test_a_closed_case_has_nothing_due(settings: Settings) -> None:
    case = _case("closure", status="closed", plan_review_due_on=date(2026, 1, 30))
    assert due_items(settings, case) == {}
    assert next_action(settings, case) is None


@pytest.mark.parametrize(
    ("move", "facts", "missing"),
    [
        (("assessment", "case_plan"), CaseFacts(False, None), ["assessment"]),
        (("assessment", "case_plan"), CaseFacts(True, None), []),
        (("case_plan", "implementation"), CaseFacts(True, None), ["plan", "plan_approval"]),
        (("case_plan", "implementation"), CaseFacts(True, "draft"), ["plan_approval"]),
        (("case_plan", "implementation"), CaseFacts(True, "approved"), []),
        (("follow_up", "case_plan"), CaseFacts(False, None), []),
    ],
)
def test_gates(move: tuple[str, str], facts: CaseFacts, missing: list[str]) -> None:
    assert missing_for(*move, facts) == missing


def test_every_gate_guards_a_legal_move() -> None:
    assert set(GATES) <= TRANSITIONS
