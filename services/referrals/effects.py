"""What each state-changing action writes besides the new status: the per-action table.

`states.TRANSITIONS` says which moves are legal; `EFFECTS` says, for each action, who and when
is stamped on the referral, which text the request must carry and where it is kept encrypted,
and what more the action does (`then`). `transitions.act` applies the entry; adding an action
means a row in each table, not a branch in the use case.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from models.base import new_id
from models.cases import Case
from models.referrals import Referral, ReferralUpdate
from services.actions import Action
from services.cases.access import encrypt_for_case
from services.cases.enums import CaseStatus
from services.config import Settings
from services.errors import Conflict, InvalidInput
from services.policy import Principal
from services.referrals.constants import CONSENT_WITHDRAWN, response_hours
from services.referrals.views import REFERRALS_TABLE, UPDATES_TABLE, KeyCache


@dataclass
class Move:
    """One state change being prepared: the columns it sets and what its audit row says."""

    principal: Principal
    referral: Referral
    case_row: Case
    settings: Settings
    keys: KeyCache
    now: datetime
    text: str | None
    values: dict[str, Any] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    note: ReferralUpdate | None = None
    """A progress update to insert once the move has won its compare-and-set."""

    def seal(self, text: str, *, table: str, record_id: uuid.UUID, name: str) -> bytes:
        return encrypt_for_case(
            self.keys.for_case(self.case_row), text, table=table, record_id=record_id, field=name
        )


@dataclass(frozen=True)
class Effect:
    stamp: str | None = None
    """Column prefix of who and when: `approved` sets `approved_by` and `approved_at`."""
    text: str | None = None
    """The request body field the action requires (a reason, an outcome, a note)."""
    sealed_as: str | None = None
    """The referral column that keeps that text, encrypted (`<name>_encrypted`)."""
    then: Callable[[Move, str], None] | None = None
    """What more the action does, given the move and its text (empty when it takes none)."""

    def apply(self, move: Move) -> None:
        text = self._required_text(move.text)
        if self.stamp is not None:
            move.values[f"{self.stamp}_by"] = move.principal.id
            move.values[f"{self.stamp}_at"] = move.now
        if self.sealed_as is not None:
            move.values[f"{self.sealed_as}_encrypted"] = move.seal(
                text, table=REFERRALS_TABLE, record_id=move.referral.id, name=self.sealed_as
            )
            move.fields.append(self.sealed_as)
        if self.then is not None:
            self.then(move, text)

    def _required_text(self, text: str | None) -> str:
        if self.text is None:
            return ""
        if text is None or not text.strip():
            raise InvalidInput.field(("body", self.text), "Field required.")
        return text


def _set_response_due(move: Move, _text: str) -> None:
    if move.case_row.status != CaseStatus.OPEN:
        raise Conflict("The case is closed; reopen it before approving a referral.")
    hours = response_hours(move.settings, move.referral.urgency)
    move.values["respond_due_at"] = move.now + timedelta(hours=hours)


def _record_consent_withdrawal(move: Move, reason: str) -> None:
    withdrawn = reason.strip().lower() == CONSENT_WITHDRAWN
    if withdrawn:
        move.values |= {"consent_withdrawn_at": move.now, "consent_withdrawn_by": move.principal.id}
    move.detail["consent_withdrawn"] = withdrawn


def _add_progress_note(move: Move, note: str) -> None:
    note_id = new_id()
    principal = move.principal
    move.note = ReferralUpdate(
        id=note_id,
        referral_id=move.referral.id,
        author_type=principal.kind,
        author_id=principal.id,
        author_agency_id=principal.agency_id,
        note_encrypted=move.seal(note, table=UPDATES_TABLE, record_id=note_id, name="note"),
        created_at=move.now,
    )
    move.fields.append("updates.note")
    move.detail["update_id"] = str(note_id)


EFFECTS: dict[Action, Effect] = {
    Action.REFERRAL_APPROVE: Effect(stamp="approved", then=_set_response_due),
    Action.REFERRAL_REJECT: Effect(stamp="rejected", text="reason", sealed_as="rejection_reason"),
    Action.REFERRAL_ACCEPT: Effect(stamp="responded"),
    Action.REFERRAL_DECLINE: Effect(stamp="responded", text="reason", sealed_as="decline_reason"),
    Action.REFERRAL_COMPLETE: Effect(stamp="completed", text="outcome", sealed_as="outcome"),
    Action.REFERRAL_CANCEL: Effect(
        stamp="cancelled",
        text="reason",
        sealed_as="cancel_reason",
        then=_record_consent_withdrawal,
    ),
    Action.REFERRAL_UPDATE: Effect(text="note", then=_add_progress_note),
}
"""One entry per action of `states.TRANSITIONS` (a test holds the two tables together)."""
