"""Request and response bodies of need-to-know: access lists, break-glass, alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from api.schemas.cases import CaseOut, Strict, _prose
from services.alerts.enums import AlertKind
from services.identity.enums import PrincipalKind

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


class BreakGlassIn(Strict):
    reason: Reason = Field(
        description="Why you must read this restricted case now. Shown to whoever reviews the "
        "use; kept sealed at rest. " + NO_CHILD_DATA
    )


class BreakGlassOut(BaseModel):
    id: uuid.UUID = Field(description="The break-glass use's id (for its review).")
    case_id: uuid.UUID = Field(description="The case opened.")
    case_number: str = Field(description="Its number (kept after an erasure of the case).")
    agency_id: uuid.UUID = Field(description="The case's agency.")
    user_id: uuid.UUID = Field(description="The supervisor who broke the glass.")
    reason: str | None = Field(description="Why, as the supervisor wrote it.")
    used_at: datetime = Field(description="When the access began.")
    expires_at: datetime = Field(description="When it ends (60 minutes later).")
    active: bool = Field(description="True while the access lasts.")
    reviewed_at: datetime | None = Field(description="When it was reviewed; null until then.")
    reviewed_by: uuid.UUID | None = Field(description="Who reviewed it.")
    review_note: str | None = Field(description="The reviewer's note.")
    overdue: bool = Field(
        description="Not reviewed, and older than `HAVEN_BREAK_GLASS_REVIEW_HOURS`."
    )


class BreakGlassList(BaseModel):
    items: list[BreakGlassOut] = Field(description="Break-glass uses, newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class BreakGlassCase(CaseOut):
    """The case, opened by breaking the glass, with the access it was given."""

    break_glass: BreakGlassOut = Field(description="The access: until when, and its record.")


class ReviewIn(Strict):
    note: Reason = Field(
        description="What the reviewer found (was the access justified?). Kept sealed at rest. "
        + NO_CHILD_DATA
    )


class AlertOut(BaseModel):
    id: uuid.UUID = Field(description="The alert's id.")
    kind: AlertKind = Field(description="`bulk_read`: too many distinct records within an hour.")
    actor_type: PrincipalKind = Field(description="`user` (staff) or `client` (partner).")
    actor_id: uuid.UUID = Field(description="The user's id, or the API client's id.")
    agency_id: uuid.UUID = Field(description="The reader's agency.")
    raised_at: datetime = Field(description="When the limit was passed.")
    distinct_reads: int = Field(
        description="Distinct records (cases it does not own, or referrals) opened in the hour "
        "up to the alert."
    )
    read_limit: int = Field(description="The limit in force then.")
    suspends: bool = Field(
        description="True when the alert suspended the reader's access until it is cleared."
    )
    cleared_at: datetime | None = Field(description="When a supervisor cleared it.")
    cleared_by: uuid.UUID | None = Field(description="Who cleared it.")
    clear_note: str | None = Field(description="What the supervisor found.")


class AlertList(BaseModel):
    items: list[AlertOut] = Field(description="Alerts, newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class AlertClear(Strict):
    note: Reason = Field(
        description="What was found (who read what, and why it was or was not justified). Kept "
        "sealed at rest. " + NO_CHILD_DATA
    )
