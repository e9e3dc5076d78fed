"""Request and response bodies of the case endpoints (the REST contract's "Cases" section).

Request models are strict (`extra="forbid"`, the service's enums, bounded lengths). Text is never
stripped or normalised: Arabic and Kurdish names are stored and returned exactly as sent.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator

from services.cases.enums import (
    CaseStatus,
    DueKind,
    DuplicateCheck,
    RiskLevel,
    SeparationStatus,
    Sex,
    Stage,
)

_LINE_BREAKS = frozenset("\n\r\t")


def _not_blank(value: str) -> str:
    """A one-line text: not blank, no control characters (NUL, escapes, line breaks)."""
    if not value.strip():
        raise ValueError("must not be blank")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("must not contain control characters")
    return value


def _prose(value: str) -> str:
    """A free text: not blank; line breaks and tabs allowed, other control characters not."""
    if not value.strip():
        raise ValueError("must not be blank")
    if any(unicodedata.category(c) == "Cc" and c not in _LINE_BREAKS for c in value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_not_blank)]
Place = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_not_blank)]
Address = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_not_blank)]
Phone = Annotated[
    str,
    Field(min_length=3, max_length=40, pattern=r"^[+0-9\u0660-\u0669\u06f0-\u06f9 ()./-]+$"),
    AfterValidator(_not_blank),
]
ConcernCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="A code from `GET /api/v1/reference/concerns`.",
    ),
]
Narrative = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(_prose)]
Age = Annotated[StrictInt, Field(ge=0, le=25)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


# --- request bodies -----------------------------------------------------------------------


OtherNames = Annotated[
    list[Name],
    Field(
        max_length=10,
        description="Other spellings and scripts of the child's name (e.g. the Arabic-script "
        "form of a name registered in Latin letters, or the name used before it was changed); "
        "name search and family tracing consider them.",
    ),
]
FATHER = "The father's given name (Iraqi names: given, father's, grandfather's name)."
GRANDFATHER = "The paternal grandfather's given name."
MOTHER = "The mother's name."


class ChildIn(Strict):
    given_name: Name
    family_name: Name
    sex: Sex
    date_of_birth: date | None = None
    estimated_age: Age | None = Field(
        default=None, description="Years, when the date of birth is unknown."
    )
    other_names: OtherNames | None = None
    father_name: Name | None = Field(default=None, description=FATHER)
    grandfather_name: Name | None = Field(default=None, description=GRANDFATHER)
    mother_name: Name | None = Field(default=None, description=MOTHER)


class LocationIn(Strict):
    governorate: Place
    district: Place
    address: Address | None = None


class CaregiverIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
    relationship: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_not_blank)]
    phone: Phone | None = None


class CaseCreate(Strict):
    """Intake of one child. Every text field is encrypted at rest."""

    child: ChildIn
    location: LocationIn
    caregivers: list[CaregiverIn] = Field(default_factory=list, max_length=20)
    separation_status: SeparationStatus
    protection_concerns: list[ConcernCode] = Field(default_factory=list, max_length=16)
    risk_level: RiskLevel
    narrative: Narrative | None = None


_REQUIRED = "may not be null"


class ChildPatch(Strict):
    given_name: Name | None = None
    family_name: Name | None = None
    sex: Sex | None = None
    date_of_birth: date | None = None
    estimated_age: Age | None = None
    other_names: OtherNames | None = None
    father_name: Name | None = Field(default=None, description=FATHER)
    grandfather_name: Name | None = Field(default=None, description=GRANDFATHER)
    mother_name: Name | None = Field(default=None, description=MOTHER)

    @field_validator("given_name", "family_name", "sex")
    @classmethod
    def _required(cls, value: object) -> object:
        if value is None:
            raise ValueError(_REQUIRED)
        return value


class LocationPatch(Strict):
    governorate: Place | None = None
    district: Place | None = None
    address: Address | None = None

    @field_validator("governorate", "district")
    @classmethod
    def _required(cls, value: object) -> object:
        if value is None:
            raise ValueError(_REQUIRED)
        return value


class CasePatch(Strict):
    """Partial update: send only what changes. `child` and `location` merge key by key; lists
    replace. `null` clears an optional field (`child.date_of_birth`, `narrative`, ...)."""

    child: ChildPatch | None = None
    location: LocationPatch | None = None
    caregivers: list[CaregiverIn] | None = Field(default=None, max_length=20)
    separation_status: SeparationStatus | None = None
    protection_concerns: list[ConcernCode] | None = Field(default=None, max_length=16)
    risk_level: RiskLevel | None = None
    narrative: Narrative | None = None

    @field_validator(
        "child",
        "location",
        "caregivers",
        "separation_status",
        "protection_concerns",
        "risk_level",
    )
    @classmethod
    def _required(cls, value: object) -> object:
        if value is None:
            raise ValueError(_REQUIRED)
        return value


class StageMove(Strict):
    to: Stage


class Assignment(Strict):
    user_id: uuid.UUID


class Erasure(Strict):
    reason: Annotated[str, AfterValidator(_prose)] = Field(
        min_length=1,
        max_length=500,
        description="Why the case is erased. Operator text kept in the tombstone (sealed): "
        "do NOT put names or other child data in it.",
    )


class NoteCreate(Strict):
    text: Narrative


# --- responses ----------------------------------------------------------------------------


class ChildOut(BaseModel):
    given_name: str
    family_name: str
    sex: Sex
    date_of_birth: date | None = None
    estimated_age: int | None = None
    other_names: list[str] | None = Field(default=None, description="Other spellings and scripts.")
    father_name: str | None = Field(default=None, description=FATHER)
    grandfather_name: str | None = Field(default=None, description=GRANDFATHER)
    mother_name: str | None = Field(default=None, description=MOTHER)


class LocationOut(BaseModel):
    governorate: str
    district: str
    address: str | None = None


class CaregiverOut(BaseModel):
    name: str
    relationship: str
    phone: str | None = None


class DueItem(BaseModel):
    kind: DueKind = Field(description="Which kind of work is due.")
    due_at: datetime = Field(description="When it is (was) due.")


class CaseOut(BaseModel):
    """A case as returned: the intake fields plus routing and scheduling facts."""

    id: uuid.UUID
    case_number: str
    version: int
    status: CaseStatus
    stage: Stage
    agency_id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    next_action_due_at: datetime | None
    closure_requested_at: datetime | None = None
    closed_at: datetime | None = None
    child: ChildOut
    location: LocationOut
    caregivers: list[CaregiverOut]
    separation_status: SeparationStatus
    protection_concerns: list[str]
    risk_level: RiskLevel
    narrative: str | None = None
    next_action_kind: DueKind | None = Field(
        default=None,
        description="In lists: what `next_action_due_at` is for (`first_assessment`, "
        "`case_review`, `plan_action`, `plan_review` or `follow_up`).",
    )
    overdue_items: list[DueItem] | None = Field(
        default=None,
        description="In lists: every kind of work that is late, earliest first (what makes "
        "the case overdue), from plain columns.",
    )


class CaseCreated(CaseOut):
    possible_duplicates: list[uuid.UUID] = Field(
        default_factory=list,
        description="Ids of cases you may see with the same normalised full name and date of "
        "birth (without a date of birth: the same full name and an estimated birth year at most "
        "a year apart): check them before working on this one.",
    )
    duplicate_check: DuplicateCheck = Field(
        default=DuplicateCheck.COMPLETE,
        description="`complete`: every candidate was compared. `partial`: there were more "
        "candidates than one intake compares (the newest were), so `possible_duplicates` may "
        "miss some; search by name to see them all.",
    )


class CaseList(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class NoteOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    author_id: uuid.UUID
    text: str
    created_at: datetime


class NoteList(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None


# --- reference ----------------------------------------------------------------------------


class ConcernLabels(BaseModel):
    en: str = Field(description="English.")
    ar: str = Field(description="Arabic.")
    ckb: str = Field(description="Sorani Kurdish.")


class ConcernOut(BaseModel):
    code: str = Field(description="The code to send in `protection_concerns`.")
    label: str = Field(
        description="In the language the request's Accept-Language prefers among `en`, `ar` "
        "and `ckb` (English otherwise)."
    )
    labels: ConcernLabels = Field(description="Every label.")


class ConcernList(BaseModel):
    items: list[ConcernOut]
