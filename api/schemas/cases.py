"""Request and response bodies of the case endpoints (the REST contract's "Cases" section).

Request models are strict (`extra="forbid"`, the service's enums, bounded lengths). Text is never
stripped or normalised: Arabic and Kurdish names are stored and returned exactly as sent.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

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

# Unicode's control characters (general category Cc) are exactly C0, DEL and C1; the category
# is closed (Unicode's stability policy), so a character class finds them in one pass in C
# instead of a `unicodedata.category` call per character, which cost a large share of an
# intake's validation for a 1,500-character narrative. `tests/api/test_text_validators.py`
# compares both over every code point.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters other than tab, line feed and carriage return."""


def _not_blank(value: str) -> str:
    """A one-line text: not blank, no control characters (NUL, escapes, line breaks)."""
    if not value.strip():
        raise ValueError("must not be blank")
    if CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _prose(value: str) -> str:
    """A free text: not blank; line breaks and tabs allowed, other control characters not."""
    if not value.strip():
        raise ValueError("must not be blank")
    if CONTROL_BUT_LINE_BREAKS.search(value):
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


OtherNames = Annotated[list[Name], Field(max_length=10)]
OTHER_NAMES = (
    "Other spellings and scripts of the child's name (e.g. the Arabic-script form of a name "
    "registered in Latin letters, or the name used before it was changed), at most 10; name "
    "search and family tracing consider them."
)
FATHER = "The father's given name (Iraqi names: given, father's, grandfather's name)."
GRANDFATHER = "The paternal grandfather's given name."
MOTHER = "The mother's name."
GIVEN = "The child's given (first) name, in any script, exactly as it should be stored."
FAMILY = "The child's family name (for Iraqi names often the father's or tribe's name)."
SEX = "`female`, `male`, `other` or `unknown`."
BIRTH = "The date of birth (`YYYY-MM-DD`), when known; not in the future."
GOVERNORATE = "The governorate (province) where the child lives now, e.g. `Duhok`."
DISTRICT = "The district within the governorate, e.g. `Zakho`."
ADDRESS = "Where to find the child: camp, block, street or landmark (free text)."
CAREGIVER_NAME = "The caregiver's full name."
RELATIONSHIP = "The caregiver's relationship to the child, e.g. `aunt`, `grandfather`."
PHONE = "A phone number: digits (Latin or Arabic-Indic), spaces, `+ ( ) . / -`."
SEPARATION = (
    "`unaccompanied` (no adult caring for the child), `separated` (apart from parents but "
    "with another adult), `with_caregiver` or `unknown`."
)
CONCERNS = "Protection concern codes from `GET /api/v1/reference/concerns` (each at most once)."
RISK = (
    "`high`, `medium` or `low`: how urgent the child's situation is; it sets when the first "
    "assessment and each review are due."
)
NARRATIVE = "The caseworker's account of the child's situation (free text, line breaks allowed)."


class ChildIn(Strict):
    given_name: Name = Field(description=GIVEN)
    family_name: Name = Field(description=FAMILY)
    sex: Sex = Field(description=SEX)
    date_of_birth: date | None = Field(default=None, description=BIRTH)
    estimated_age: Age | None = Field(
        default=None, description="Years, when the date of birth is unknown."
    )
    other_names: OtherNames | None = Field(default=None, description=OTHER_NAMES)
    father_name: Name | None = Field(default=None, description=FATHER)
    grandfather_name: Name | None = Field(default=None, description=GRANDFATHER)
    mother_name: Name | None = Field(default=None, description=MOTHER)


class LocationIn(Strict):
    governorate: Place = Field(description=GOVERNORATE)
    district: Place = Field(description=DISTRICT)
    address: Address | None = Field(default=None, description=ADDRESS)


class CaregiverIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)] = Field(
        description=CAREGIVER_NAME
    )
    relationship: Annotated[
        str, Field(min_length=1, max_length=100), AfterValidator(_not_blank)
    ] = Field(description=RELATIONSHIP)
    phone: Phone | None = Field(default=None, description=PHONE)


RESTRICTED = (
    "Restricted: readable only by the owner and the users on the case's access list "
    "(`/cases/{id}/access-list`); other supervisors of the agency see it in lists by its plain "
    "columns only, and may break the glass (`POST /cases/{id}/break-glass`)."
)
RESTRICTION_REASON = (
    "Why the case is restricted (or no longer): kept encrypted with the case, shown only to "
    "those who may read it."
)
ReasonText = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_prose)]


class CaseCreate(Strict):
    """Intake of one child. Every text field is encrypted at rest."""

    child: ChildIn = Field(description="Who the child is.")
    location: LocationIn = Field(description="Where the child lives now.")
    caregivers: list[CaregiverIn] = Field(
        default_factory=list,
        max_length=20,
        description="The adults caring for the child now (at most 20; may be empty).",
    )
    separation_status: SeparationStatus = Field(description=SEPARATION)
    protection_concerns: list[ConcernCode] = Field(
        default_factory=list, max_length=16, description=CONCERNS
    )
    risk_level: RiskLevel = Field(description=RISK)
    narrative: Narrative | None = Field(default=None, description=NARRATIVE)
    restricted: bool = Field(default=False, description=RESTRICTED)
    restriction_reason: ReasonText | None = Field(default=None, description=RESTRICTION_REASON)


_REQUIRED = "may not be null"
NEXT_CURSOR = (
    "Pass it as `?cursor=` to get the next page; null on the last page. Opaque: do not parse it."
)


class ChildPatch(Strict):
    given_name: Name | None = Field(default=None, description=GIVEN + " May not be null.")
    family_name: Name | None = Field(default=None, description=FAMILY + " May not be null.")
    sex: Sex | None = Field(default=None, description=SEX + " May not be null.")
    date_of_birth: date | None = Field(default=None, description=BIRTH + " `null` clears it.")
    estimated_age: Age | None = Field(
        default=None, description="Years, when the date of birth is unknown; `null` clears it."
    )
    other_names: OtherNames | None = Field(
        default=None, description=OTHER_NAMES + " The list replaces the old one."
    )
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
    governorate: Place | None = Field(default=None, description=GOVERNORATE + " May not be null.")
    district: Place | None = Field(default=None, description=DISTRICT + " May not be null.")
    address: Address | None = Field(default=None, description=ADDRESS + " `null` clears it.")

    @field_validator("governorate", "district")
    @classmethod
    def _required(cls, value: object) -> object:
        if value is None:
            raise ValueError(_REQUIRED)
        return value


class CasePatch(Strict):
    """Partial update: send only what changes. `child` and `location` merge key by key; lists
    replace. `null` clears an optional field (`child.date_of_birth`, `narrative`, ...)."""

    child: ChildPatch | None = Field(
        default=None, description="The child's fields to change (merged key by key)."
    )
    location: LocationPatch | None = Field(
        default=None, description="The location's fields to change (merged key by key)."
    )
    caregivers: list[CaregiverIn] | None = Field(
        default=None, max_length=20, description="The whole new list of caregivers (replaces it)."
    )
    separation_status: SeparationStatus | None = Field(
        default=None, description=SEPARATION + " May not be null."
    )
    protection_concerns: list[ConcernCode] | None = Field(
        default=None, max_length=16, description=CONCERNS + " Replaces the list."
    )
    risk_level: RiskLevel | None = Field(
        default=None,
        description=RISK + " Changing it reschedules the next review. May not be null.",
    )
    narrative: Narrative | None = Field(default=None, description=NARRATIVE + " `null` clears it.")
    restricted: bool | None = Field(
        default=None,
        description=RESTRICTED + " Only the owner or a supervisor changes it; a supervisor "
        "who restricts a case it does not own is put on its access list. May not be null.",
    )
    restriction_reason: ReasonText | None = Field(default=None, description=RESTRICTION_REASON)

    @field_validator(
        "child",
        "location",
        "caregivers",
        "separation_status",
        "protection_concerns",
        "risk_level",
        "restricted",
    )
    @classmethod
    def _required(cls, value: object) -> object:
        if value is None:
            raise ValueError(_REQUIRED)
        return value


class StageMove(Strict):
    to: Stage = Field(
        description="The stage to move to: the next one in order (`registration`, "
        "`assessment`, `case_plan`, `implementation`, `follow_up`, `closure`), or back from "
        "`follow_up` to `case_plan`. Reaching `closure` requests closure, which a supervisor "
        "confirms with `POST /cases/{id}/close`."
    )


class Assignment(Strict):
    user_id: uuid.UUID = Field(
        description="The caseworker of the case's own agency who becomes its owner."
    )


class Erasure(Strict):
    reason: Annotated[str, AfterValidator(_prose)] = Field(
        min_length=1,
        max_length=500,
        description="Why the case is erased. Operator text kept in the tombstone (sealed): "
        "do NOT put names or other child data in it.",
    )


class NoteCreate(Strict):
    text: Narrative = Field(
        description="The note (free text, line breaks allowed; encrypted at rest). Notes cannot "
        "be edited or deleted once written."
    )


# --- responses ----------------------------------------------------------------------------


class ChildOut(BaseModel):
    given_name: str = Field(description="The child's given name, exactly as stored.")
    family_name: str = Field(description="The child's family name, exactly as stored.")
    sex: Sex = Field(description=SEX)
    date_of_birth: date | None = Field(default=None, description="`YYYY-MM-DD`, when known.")
    estimated_age: int | None = Field(
        default=None, description="Years, given when the date of birth is unknown."
    )
    other_names: list[str] | None = Field(default=None, description="Other spellings and scripts.")
    father_name: str | None = Field(default=None, description=FATHER)
    grandfather_name: str | None = Field(default=None, description=GRANDFATHER)
    mother_name: str | None = Field(default=None, description=MOTHER)


class LocationOut(BaseModel):
    governorate: str = Field(description=GOVERNORATE)
    district: str = Field(description=DISTRICT)
    address: str | None = Field(default=None, description=ADDRESS)


class CaregiverOut(BaseModel):
    name: str = Field(description=CAREGIVER_NAME)
    relationship: str = Field(description=RELATIONSHIP)
    phone: str | None = Field(default=None, description="The caregiver's phone number, as sent.")


class DueItem(BaseModel):
    kind: DueKind = Field(description="Which kind of work is due.")
    due_at: datetime = Field(description="When it is (was) due.")


class CaseOut(BaseModel):
    """A case as returned: the intake fields plus routing and scheduling facts."""

    id: uuid.UUID = Field(description="The case's id: use it in every case URL.")
    case_number: str = Field(
        description="The number people quote for the case, e.g. `HVN-2026-000123`."
    )
    version: int = Field(
        description="1 when created, +1 on every change; send it back as "
        '`If-Match: "<version>"` (the `ETag`) when you update the case.'
    )
    status: CaseStatus = Field(description="`open`, or `closed` once a supervisor closed it.")
    stage: Stage = Field(
        description="Where the case stands in case management: `registration`, `assessment`, "
        "`case_plan`, `implementation`, `follow_up` or `closure`."
    )
    agency_id: uuid.UUID = Field(description="The agency the case belongs to.")
    owner_id: uuid.UUID = Field(description="The caseworker responsible for the case.")
    created_at: datetime = Field(description="When the case was registered (UTC).")
    updated_at: datetime = Field(description="When the case last changed (UTC).")
    next_action_due_at: datetime | None = Field(
        description="When the next piece of work is due (first assessment, review, plan "
        "action, plan review or follow-up), from the risk level and the plan; null when "
        "nothing is scheduled or the case is closed."
    )
    closure_requested_at: datetime | None = Field(
        default=None,
        description="When the case reached the `closure` stage and awaits a supervisor.",
    )
    closed_at: datetime | None = Field(default=None, description="When the case was closed.")
    child: ChildOut = Field(description="Who the child is.")
    location: LocationOut = Field(description="Where the child lives now.")
    caregivers: list[CaregiverOut] = Field(description="The adults caring for the child now.")
    separation_status: SeparationStatus = Field(description=SEPARATION)
    protection_concerns: list[str] = Field(
        description="Protection concern codes (labels: `GET /api/v1/reference/concerns`)."
    )
    risk_level: RiskLevel = Field(description=RISK)
    narrative: str | None = Field(default=None, description="The caseworker's account.")
    restricted: bool = Field(default=False, description=RESTRICTED)
    restriction_reason: str | None = Field(default=None, description=RESTRICTION_REASON)
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


class CaseSummary(BaseModel):
    """A restricted case the caller may not read, as a supervisor's list shows it for oversight:
    routing and scheduling columns only, nothing that describes the child."""

    id: uuid.UUID = Field(description="The case's id.")
    case_number: str = Field(description="The case's number.")
    version: int = Field(description="The case's version.")
    status: CaseStatus = Field(description="Open or closed.")
    stage: Stage = Field(description="Where the case stands.")
    agency_id: uuid.UUID = Field(description="The case's agency.")
    owner_id: uuid.UUID = Field(description="The caseworker responsible for it.")
    risk_level: RiskLevel = Field(description="The case's risk level.")
    created_at: datetime = Field(description="When the case was registered.")
    updated_at: datetime = Field(description="When it last changed.")
    next_action_due_at: datetime | None = Field(description="When the next action is due.")
    closure_requested_at: datetime | None = Field(
        default=None, description="When the case reached the closure stage."
    )
    closed_at: datetime | None = Field(default=None, description="When the case was closed.")
    restricted: Literal[True] = Field(description="Always true: the case is restricted.")
    content_withheld: Literal[True] = Field(
        description="Always true: you are not on the case's access list; its content and "
        "sub-resources are 404 to you unless you break the glass."
    )
    next_action_kind: DueKind | None = Field(
        default=None, description="What `next_action_due_at` is for."
    )
    overdue_items: list[DueItem] | None = Field(
        default=None, description="Every kind of work that is late, earliest first."
    )


def case_item(data: dict[str, object]) -> CaseOut | CaseSummary:
    """A list item: the whole case, or its oversight summary when the content was withheld."""
    if data.get("content_withheld"):
        return CaseSummary.model_validate(data)
    return CaseOut.model_validate(data)


class CaseList(BaseModel):
    items: list[CaseOut | CaseSummary] = Field(
        description="This page's cases, in the order the query sets; a restricted case you may "
        "not read appears as a summary without its content (`content_withheld: true`)."
    )
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class NoteOut(BaseModel):
    id: uuid.UUID = Field(description="The note's id.")
    case_id: uuid.UUID = Field(description="The case the note belongs to.")
    author_id: uuid.UUID = Field(description="The staff user who wrote it.")
    text: str = Field(description="The note, exactly as written.")
    created_at: datetime = Field(description="When it was written (UTC).")


class NoteList(BaseModel):
    items: list[NoteOut] = Field(description="This page's notes, newest first.")
    next_cursor: str | None = Field(description=NEXT_CURSOR)


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
    items: list[ConcernOut] = Field(description="Every protection concern, in a stable order.")
