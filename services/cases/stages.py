"""The case stage machine: `registration → assessment → case_plan → implementation →
follow_up → closure`, plus `follow_up → case_plan`. Nothing else."""

from __future__ import annotations

from services.cases.enums import Stage

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
