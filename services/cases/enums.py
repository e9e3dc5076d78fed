"""Value sets of a case: status, stage, risk level, and the child's sex, separation status and
protection concerns.

The one definition of each: the API schemas, the stage machine (`stages.py`), the schedules and
the database's CHECK constraints (migration 0008) all take these. Concern codes are reference
data with labels (`concerns.py`); the codes themselves are defined here.
"""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Stage(StrEnum):
    """Case-management stages, in their normal order (moves: `stages.TRANSITIONS`)."""

    REGISTRATION = "registration"
    ASSESSMENT = "assessment"
    CASE_PLAN = "case_plan"
    IMPLEMENTATION = "implementation"
    FOLLOW_UP = "follow_up"
    CLOSURE = "closure"


class RiskLevel(StrEnum):
    """How urgent the child's situation is: sets when the next action is due."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class DuplicateCheck(StrEnum):
    """Whether the duplicate check at intake examined every candidate, or stopped at its
    limit (then `possible_duplicates` may miss some)."""

    COMPLETE = "complete"
    PARTIAL = "partial"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class SeparationStatus(StrEnum):
    UNACCOMPANIED = "unaccompanied"
    SEPARATED = "separated"
    WITH_CAREGIVER = "with_caregiver"
    UNKNOWN = "unknown"


class ConcernCode(StrEnum):
    """Protection concerns (labels in `concerns.py`, served by `GET /reference/concerns`)."""

    CAAFAG = "caafag"
    SEPARATED_UNACCOMPANIED = "separated_unaccompanied"
    PHYSICAL_INJURY = "physical_injury"
    DISABILITY = "disability"
    PSYCHOSOCIAL_DISTRESS = "psychosocial_distress"
    WITNESSED_VIOLENCE = "witnessed_violence"
    SEXUAL_VIOLENCE = "sexual_violence"
    PHYSICAL_VIOLENCE = "physical_violence"
    DETENTION = "detention"
    CHILD_LABOUR = "child_labour"
    CHILD_MARRIAGE = "child_marriage"
    TRAFFICKING = "trafficking"
    NEGLECT = "neglect"
    OUT_OF_SCHOOL = "out_of_school"
    LACK_OF_DOCUMENTATION = "lack_of_documentation"
    EXPLOSIVE_ORDNANCE = "explosive_ordnance"


class DueKind(StrEnum):
    FIRST_ASSESSMENT = "first_assessment"
    CASE_REVIEW = "case_review"
    PLAN_ACTION = "plan_action"
    PLAN_REVIEW = "plan_review"
    FOLLOW_UP = "follow_up"


class ClosureReason(StrEnum):
    GOALS_MET = "goals_met"
    REACHED_ADULTHOOD = "reached_adulthood"
    TRANSFERRED = "transferred"
    MOVED_AWAY = "moved_away"
    LOST_CONTACT = "lost_contact"
    DEATH = "death"
    DUPLICATE = "duplicate"
    OTHER = "other"


class Requirement(StrEnum):
    """What a stage gate can ask of a case (the 409's `missing` entries)."""

    ASSESSMENT = "assessment"
    """At least one recorded assessment."""
    PLAN = "plan"
    """A case plan."""
    PLAN_APPROVAL = "plan_approval"
    """The current plan approved by a supervisor."""
