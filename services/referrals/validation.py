"""Checks of a proposed referral, all at once: one 422 names every bad field."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models.base import MAX_YEAR, MIN_YEAR, in_supported_range, utcnow
from models.cases import Case
from models.identity import Agency
from services.cases.access import CASE_FIELD_PATHS
from services.errors import FieldProblem, InvalidInput
from services.referrals.constants import CLOCK_SKEW, CONSENT_BASES, SERVICE_TYPES, URGENCIES
from services.referrals.enums import ConsentBasis
from services.referrals.messages import NewReferral


def validate_new(session: Session, case_row: Case, draft: NewReferral) -> None:
    """Raise `InvalidInput` naming every field of `draft` that cannot be accepted."""
    problems = [
        *_shared_field_problems(draft.shared_fields),
        *_choice_problems(draft),
        *_consent_time_problems(draft),
    ]
    if not draft.reason.strip():
        problems.append(FieldProblem(("body", "reason"), "Must not be empty."))
    if draft.to_agency_id == case_row.agency_id:
        problems.append(
            FieldProblem(("body", "to_agency_id"), "Refer to another agency than the case's own.")
        )
    elif session.get(Agency, draft.to_agency_id) is None:
        problems.append(FieldProblem(("body", "to_agency_id"), "No agency with that id."))
    if problems:
        raise InvalidInput(problems)


def _shared_field_problems(paths: list[str]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for index, path in enumerate(paths):
        if path not in CASE_FIELD_PATHS:
            problems.append(
                FieldProblem(
                    ("body", "shared_fields", index),
                    "Unknown case field path; valid paths: " + ", ".join(sorted(CASE_FIELD_PATHS)),
                )
            )
        elif path in seen:
            problems.append(FieldProblem(("body", "shared_fields", index), "Listed twice."))
        seen.add(path)
    return problems


def _choice_problems(draft: NewReferral) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if draft.service_type not in SERVICE_TYPES:
        problems.append(FieldProblem(("body", "service_type"), "Unknown service type."))
    if draft.urgency not in URGENCIES:
        problems.append(FieldProblem(("body", "urgency"), "Must be high, medium or low."))
    if draft.consent_given_by not in CONSENT_BASES:
        problems.append(FieldProblem(("body", "consent", "given_by"), "Unknown consent basis."))
    if draft.consent_given_by == ConsentBasis.BEST_INTEREST_OVERRIDE and not (
        draft.consent_note and draft.consent_note.strip()
    ):
        problems.append(
            FieldProblem(
                ("body", "consent", "note"),
                "A best-interest override needs a written justification.",
            )
        )
    return problems


def _consent_time_problems(draft: NewReferral) -> list[FieldProblem]:
    obtained = draft.consent_obtained_at
    where = ("body", "consent", "obtained_at")
    if obtained.tzinfo is None:
        return [FieldProblem(where, "Needs a time zone.")]
    if not in_supported_range(obtained):
        return [FieldProblem(where, f"Must lie between the years {MIN_YEAR} and {MAX_YEAR}.")]
    if obtained > utcnow() + CLOCK_SKEW:
        return [FieldProblem(where, "Cannot be in the future.")]
    return []
