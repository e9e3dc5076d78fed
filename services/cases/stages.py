"""The case stage machine: `registration → assessment → case_plan → implementation →
follow_up → closure`, plus `follow_up → case_plan`. Nothing else."""

from __future__ import annotations

STAGES: tuple[str, ...] = (
    "registration",
    "assessment",
    "case_plan",
    "implementation",
    "follow_up",
    "closure",
)

TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("registration", "assessment"),
        ("assessment", "case_plan"),
        ("case_plan", "implementation"),
        ("implementation", "follow_up"),
        ("follow_up", "closure"),
        ("follow_up", "case_plan"),
    }
)

REOPEN_STAGE = "follow_up"
"""A reopened case resumes at follow-up: from there it can be re-planned or closed again."""

STATUSES: tuple[str, ...] = ("open", "closed")
RISK_LEVELS: tuple[str, ...] = ("high", "medium", "low")


def can_move(current: str, target: str) -> bool:
    return (current, target) in TRANSITIONS
