"""Moving a referral through its states: the one use case `act`, driven by two tables.

`states.transition_for` decides whether the move is legal (409 otherwise) and which side may
make it; `effects.EFFECTS` says what the move writes. A state change is one compare-and-set
UPDATE (`WHERE id = :id AND version = :seen`), so of two concurrent moves on one referral only
one can win; the other matches no row and gets `Conflict`.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from models.base import utcnow
from models.referrals import Referral
from services import audit
from services.actions import Action
from services.cases.enums import CaseStatus
from services.config import Settings
from services.crypto import Keyring
from services.errors import Conflict, Forbidden, InvalidInput
from services.kit.versions import Versioned
from services.policy import Principal
from services.referrals.access import audit_read, load, view_of
from services.referrals.effects import EFFECTS, Move
from services.referrals.states import Transition, transition_for
from services.referrals.views import KeyCache, ReferralView

REFERRAL_VERSIONS = Versioned("referral", stale=Conflict, malformed=InvalidInput)
"""A referral action on a stale version is 409 (the caller must decide again on what the
referral is now, unlike a case's 412); a malformed If-Match is 422 naming it."""


def compare_and_set(
    session: Session,
    referral: Referral,
    transition: Transition,
    values: dict[str, Any],
    expected_version: int,
) -> None:
    """One UPDATE that only matches the version the caller saw; 0 rows means someone else won."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Referral)
            .where(
                Referral.id == referral.id,
                Referral.version == expected_version,
                Referral.status == transition.from_status.value,
            )
            .values(
                status=transition.to_status.value,
                version=Referral.version + 1,
                updated_at=utcnow(),
                **values,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise REFERRAL_VERSIONS.stale_version(expected_version)
    session.refresh(referral)


def _check_side(principal: Principal, transition: Transition) -> None:
    # `require` already limits each action to staff roles or to partner scopes; this states the
    # table's `side` explicitly so a policy edit cannot let the wrong side through.
    wanted_client = transition.side == "receiving"
    if principal.is_client != wanted_client:
        raise Forbidden(
            f"Only the {transition.side} side may perform {transition.action.value}.",
            action=transition.action,
            resource_type="referral",
        )


def act(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    referral_id: uuid.UUID,
    action: Action,
    *,
    text: str | None = None,
    if_match: int | None = None,
) -> ReferralView:
    """Apply one state-machine action; `text` is the reason, note or outcome it carries."""
    referral, case_row = load(session, principal, referral_id, action)
    REFERRAL_VERSIONS.check(referral.version, if_match)
    transition = transition_for(referral.status, action)
    _check_side(principal, transition)
    if transition.side == "receiving" and case_row.status != CaseStatus.OPEN:
        # Closing a case cancels its live referrals; this holds even for a referral that
        # escaped that (older data): no partner works on, or reads, a closed case.
        raise Conflict("The referring agency closed this case; the referral is no longer active.")
    keys = KeyCache(session, keyring)
    move = Move(
        principal=principal,
        referral=referral,
        case_row=case_row,
        settings=settings,
        keys=keys,
        now=utcnow(),
        text=text,
        detail={"from": transition.from_status.value, "to": transition.to_status.value},
    )
    EFFECTS[action].apply(move)
    compare_and_set(
        session,
        referral,
        transition,
        move.values,
        referral.version if if_match is None else if_match,
    )
    if move.note is not None:
        session.add(move.note)
        session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="referral",
        resource_id=referral.id,
        case_id=referral.case_id,
        fields=move.fields,
        detail=move.detail,
    )
    view = view_of(session, keyring, principal, referral, case_row, keys)
    if view.fields_served:
        # The answer itself discloses the view (a partner's `accept` returns the shared fields).
        audit_read(session, principal, view, via=action.value)
    return view
