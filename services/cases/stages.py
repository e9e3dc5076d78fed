"""The case stage machine: `registration → assessment → case_plan → implementation →
follow_up → closure`, plus `follow_up → case_plan`. Nothing else; and two of the moves are gated
by the records the work produces (`GATES`)."""

from __future__ import annotations

from dataclasses import dataclass

from services.cases.enums import Requirement, Stage

STAGES: tuple[Stage, ...] = tuple(Stage)
"""In their normal order."""

TRANSITIONS: frozenset[tuple[Stage, Stage]] = frozenset(
    {
        (Stage.REGISTRATION, Stage.ASSESSMENT),
        (Stage.ASSESSMENT, Stage.CASE_PLAN),
        (Stage.CASE_PLAN, Stage.IMPLEMENTATION),
        (Stage.IMPLEMENTATION, Stage.FOLLOW_UP),
        (Stage.FOLLOW_UP, Stage.CLOSURE),
        (Stage.FOLLOW_UP, Stage.CASE_PLAN),
    }
)

REOPEN_STAGE = Stage.FOLLOW_UP
"""A reopened case resumes at follow-up: from there it can be re-planned or closed again."""


def can_move(current: str, target: str) -> bool:
    return (current, target) in TRANSITIONS


GATES: dict[tuple[str, str], tuple[Requirement, ...]] = {
    ("assessment", "case_plan"): (Requirement.ASSESSMENT,),
    ("case_plan", "implementation"): (Requirement.PLAN, Requirement.PLAN_APPROVAL),
}
"""Moves that need records first, so the stage tells the truth about the work done."""


@dataclass(frozen=True)
class CaseFacts:
    """What the gates look at (plain columns: no decryption)."""

    assessed: bool
    plan_status: str | None
    """`draft`, `approved`, or None without a plan."""

    def meets(self, requirement: Requirement) -> bool:
        if requirement == Requirement.ASSESSMENT:
            return self.assessed
        if requirement == Requirement.PLAN:
            return self.plan_status is not None
        return self.plan_status == "approved"


def missing_for(current: str, target: str, facts: CaseFacts) -> list[str]:
    """The requirements of the move `current → target` the case does not meet yet."""
    return [r.value for r in GATES.get((current, target), ()) if not facts.meets(r)]
