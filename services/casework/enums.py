"""The casework value sets, one definition each: the API schemas, the services and the
OpenAPI document (one component per set) all take these."""

from __future__ import annotations

from enum import StrEnum


class AssessmentKind(StrEnum):
    INITIAL = "initial"
    COMPREHENSIVE = "comprehensive"
    REVIEW = "review"


class Domain(StrEnum):
    SAFETY = "safety"
    HEALTH = "health"
    DISABILITY = "disability"
    PSYCHOSOCIAL = "psychosocial"
    EDUCATION = "education"
    FAMILY_CARE = "family_care"
    DOCUMENTATION_LEGAL = "documentation_legal"
    ARMED_GROUP_ASSOCIATION = "armed_group_association"
    BASIC_NEEDS = "basic_needs"


class Severity(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Responsible(StrEnum):
    CASEWORKER = "caseworker"
    CHILD = "child"
    CAREGIVER = "caregiver"
    PARTNER = "partner"


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class PlanStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"


class ProvidedBy(StrEnum):
    OWN_AGENCY = "own_agency"
    PARTNER = "partner"


class VisitMode(StrEnum):
    HOME_VISIT = "home_visit"
    PHONE = "phone"
    OFFICE = "office"
    REMOTE = "remote"


class Wellbeing(StrEnum):
    IMPROVED = "improved"
    SAME = "same"
    WORSE = "worse"


class TimelineKind(StrEnum):
    STAGE = "stage"
    ASSESSMENT = "assessment"
    PLAN = "plan"
    SERVICE = "service"
    FOLLOW_UP = "follow_up"
    NOTE = "note"
    REFERRAL = "referral"
    REUNIFICATION = "reunification"
    CLOSURE = "closure"
