"""Request and response bodies of need-to-know: access lists, break-glass, alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from api.schemas.cases import Strict, _prose

NO_CHILD_DATA = "Do not put names or other child data in it."
Reason = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_prose)]


class AccessGrant(Strict):
    user_id: uuid.UUID = Field(
        description="An active caseworker or supervisor of the case's agency (anyone else is 404)."
    )
    reason: Reason | None = Field(
        default=None,
        description="Why this person needs the case; kept encrypted with the case.",
    )


class AccessEntryOut(BaseModel):
    case_id: uuid.UUID = Field(description="The case.")
    user_id: uuid.UUID = Field(description="The listed user.")
    username: str = Field(description="The listed user's username.")
    role: str = Field(description="The listed user's role (`caseworker` or `supervisor`).")
    added_by: uuid.UUID = Field(description="Who put the user on the list.")
    added_at: datetime = Field(description="When.")
    reason: str | None = Field(default=None, description="Why, when a reason was given.")


class AccessList(BaseModel):
    items: list[AccessEntryOut] = Field(
        description="Everyone besides the owner who reads the case, oldest entry first (at most "
        "50, so there is never a next page)."
    )
    next_cursor: str | None = Field(default=None, description="Always null.")
