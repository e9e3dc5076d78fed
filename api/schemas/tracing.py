"""Request and response bodies of family tracing: tracing requests and their matches.

Names may be written in any script and any spelling; they are stored exactly as sent (encrypted
under the request's own data key) and matched through keyed tokens only.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.schemas.cases import Address, Age, Name, Phone, Place, Strict, _not_blank, _prose
from services.cases.enums import Sex
from services.tracing.enums import MatchFieldResult as FieldResult
from services.tracing.enums import MatchLabel as Label
from services.tracing.enums import MatchStatus, RequestStatus, ReunifiedWith

Relationship = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_not_blank)]
Prose = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_prose)]
Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_prose)]

_EXAMPLE: dict[str, Any] = {
    "enquirer": {"name": "Ahmad Hassan", "relationship": "father", "phone": "+964 750 000 0000"},
    "sought": {
        "names": ["محمد احمد حسن", "Mohammed Ahmed"],
        "father_name": "Ahmad",
        "grandfather_name": "Hassan",
        "sex": "male",
        "estimated_age": 12,
        "last_seen_place": "Sinjar",
        "last_seen_on": "2024-08-03",
    },
    "circumstances": "Separated at a checkpoint.",
}


class EnquirerIn(Strict):
    name: Name = Field(description="Who is looking for the child.")
    relationship: Relationship = Field(description="The enquirer's relationship to the child.")
    phone: Phone | None = Field(default=None, description="How to reach the enquirer.")
    location: Address | None = Field(default=None, description="Where the enquirer lives now.")


class SoughtIn(Strict):
    names: list[Name] = Field(
        min_length=1,
        max_length=10,
        description="The child's names as the enquirer gives them: any script, any spelling, "
        "a given name alone or the chain given, father's, grandfather's (and family) name.",
    )
    father_name: Name | None = Field(default=None, description="The father's given name.")
    grandfather_name: Name | None = Field(default=None, description="The grandfather's name.")
    mother_name: Name | None = Field(default=None, description="The mother's name.")
    sex: Sex = Field(description="`female`, `male`, `other` or `unknown`.")
    date_of_birth: date | None = Field(default=None, description="When known.")
    estimated_age: Age | None = Field(
        default=None, description="Years (today), when the birth date is unknown."
    )
    last_seen_place: Place | None = Field(default=None, description="Where last seen.")
    last_seen_on: date | None = Field(default=None, description="When last seen.")


class TracingRequestCreate(Strict):
    """An enquiry about a missing child. Every text field is encrypted at rest."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    enquirer: EnquirerIn = Field(description="Who is asking.")
    sought: SoughtIn = Field(description="The child being looked for.")
    circumstances: Prose | None = Field(
        default=None, description="How the child was separated (free text)."
    )


class EnquirerOut(BaseModel):
    name: str = Field(description="Who is looking for the child.")
    relationship: str = Field(description="Relationship to the child.")
    phone: str | None = Field(default=None, description="How to reach the enquirer.")
    location: str | None = Field(default=None, description="Where the enquirer lives now.")


class SoughtOut(BaseModel):
    names: list[str] = Field(description="The child's names as given.")
    father_name: str | None = Field(default=None, description="The father's given name.")
    grandfather_name: str | None = Field(default=None, description="The grandfather's name.")
    mother_name: str | None = Field(default=None, description="The mother's name.")
    sex: Sex = Field(description="As given by the enquirer.")
    date_of_birth: date | None = Field(default=None, description="When known.")
    estimated_age: int | None = Field(default=None, description="Years, when filed.")
    last_seen_place: str | None = Field(default=None, description="Where last seen.")
    last_seen_on: date | None = Field(default=None, description="When last seen.")


class ReunificationOut(BaseModel):
    reunified_on: date = Field(description="The day the child was reunified.")
    with_: ReunifiedWith = Field(alias="with", description="With whom.")
    note: str | None = Field(default=None, description="Arrangements (free text).")
    recorded_by: uuid.UUID = Field(description="The supervisor who recorded it.")

    model_config = ConfigDict(populate_by_name=True)


class ClosureOut(BaseModel):
    reason: str = Field(description="Why the request was closed.")
    closed_at: datetime = Field(description="When.")
    closed_by: uuid.UUID = Field(description="Who closed it.")


class TracingRequestOut(BaseModel):
    """A tracing request as returned."""

    id: uuid.UUID = Field(description="The request's id.")
    reference: str = Field(description="Human-friendly reference, `TR-XXXX-XXXX`.")
    version: int = Field(description="1 when filed, +1 on every change (the ETag).")
    status: RequestStatus = Field(description="`open → matched → reunified | closed`.")
    agency_id: uuid.UUID = Field(description="The agency that holds the request.")
    owner_id: uuid.UUID = Field(description="The caseworker who filed it.")
    created_at: datetime = Field(description="When it was filed.")
    updated_at: datetime = Field(description="When it last changed.")
    enquirer: EnquirerOut = Field(description="Who is asking.")
    sought: SoughtOut = Field(description="The child being looked for.")
    circumstances: str | None = Field(default=None, description="How the child was separated.")
    reunification: ReunificationOut | None = Field(
        default=None, description="Set when the request is `reunified`."
    )
    closure: ClosureOut | None = Field(default=None, description="Set when it is `closed`.")


class TracingRequestList(BaseModel):
    items: list[TracingRequestOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class MatchOut(BaseModel):
    """A potential match: a case and a tracing request that may be the same child."""

    case_id: uuid.UUID = Field(description="The case.")
    tracing_request_id: uuid.UUID = Field(description="The tracing request.")
    score: float = Field(description="0 to 1, from the weighted per-name-part comparison.")
    label: Label = Field(
        description="`likely`: at or above the score whose precision was measured at 0.95 or "
        "more on the evaluation set; otherwise `possible`. A person decides either way."
    )
    status: MatchStatus = Field(description="`proposed` or `confirmed` (rejected are hidden).")
    fields: dict[str, FieldResult] = Field(
        description="Per field (`given_name`, `father_name`, `grandfather_name`, "
        "`mother_name`, `family_name`, `sex`, `age`): `match`, `partial`, `mismatch` or "
        "`unknown` (missing on one side)."
    )


class MatchList(BaseModel):
    items: list[MatchOut] = Field(description="Best first, at most 10.")


class MatchConfirm(Strict):
    note: Reason = Field(description="Why the supervisor is satisfied it is the same child.")


class MatchReject(Strict):
    reason: Reason = Field(description="Why it is not the same child.")


class Reunification(Strict):
    reunified_on: date = Field(description="The day of reunification (not in the future).")
    with_: ReunifiedWith = Field(alias="with", description="`parents`, `relatives` or `other`.")
    note: Prose | None = Field(default=None, description="Arrangements (free text).")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TracingClose(Strict):
    reason: Reason = Field(description="Why the request is closed without reunification.")
