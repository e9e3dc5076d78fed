"""Finding a referral the caller may see, building its view, and recording that it was read.

Every referral use case loads through `load`: the role or scope may ever do the action (403),
then the referral is visible to the caller (404, exactly as if it did not exist).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models.cases import Case
from models.referrals import Referral
from services import audit
from services.actions import Action
from services.alerts.enums import SubjectType
from services.alerts.service import note_read
from services.config import Settings
from services.crypto import Keyring
from services.errors import NotFound
from services.policy import Principal, referral_filter, require
from services.referrals.views import KeyCache, ReferralView, build_view, load_updates


def visible(principal: Principal) -> ColumnElement[bool]:
    """The SQL filter of the referrals `principal` may see (joined with their cases)."""
    return referral_filter(
        principal,
        status_col=Referral.status,
        sent_at_col=Referral.approved_at,
        to_agency_col=Referral.to_agency_id,
        case_agency_col=Case.agency_id,
        case_owner_col=Case.owner_id,
    )


def _not_found(session: Session, action: Action, referral_id: uuid.UUID) -> NotFound:
    # The caller learns nothing; the audit row names the case, so the case's history shows
    # the refused attempt.
    case_id = session.scalar(select(Referral.case_id).where(Referral.id == referral_id))
    return NotFound(
        "No referral with that id.",
        action=action,
        resource_type="referral",
        resource_id=referral_id,
        case_id=case_id,
    )


def load(
    session: Session, principal: Principal, referral_id: uuid.UUID, action: Action
) -> tuple[Referral, Case]:
    """The referral and its case, fresh from the database, or 403/404."""
    require(principal, action)
    row = session.execute(
        select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.id == referral_id, visible(principal))
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise _not_found(session, action, referral_id)
    return row[0], row[1]


def view_of(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    referral: Referral,
    case_row: Case,
    keys: KeyCache | None = None,
) -> ReferralView:
    """The view of one referral `principal` gets, with its progress updates."""
    updates = load_updates(session, [referral.id])[referral.id]
    return build_view(
        session, keys or KeyCache(session, keyring), principal, referral, case_row, updates
    )


def _served_facts(view: ReferralView) -> dict[str, str]:
    """What a read event and a list's entry say of a served view besides its field names."""
    return {"status": view.status, "view": view.view}


def audit_read(
    session: Session, principal: Principal, view: ReferralView, *, via: str | None = None
) -> None:
    """Record that one `view` was served on its own (`via`: the action or replay that served
    it, when not a read). A list records one event for all its views instead (`served`)."""
    audit.record(
        session,
        principal,
        Action.REFERRAL_READ,
        resource_type="referral",
        resource_id=view.id,
        case_id=view.case_id,
        fields=view.fields_served,
        detail={**_served_facts(view), **({"via": via} if via else {})},
    )


def served(view: ReferralView) -> audit.Served:
    """`view` as a list's audit event names it: the same facts as a read event of it."""
    return audit.Served(
        id=view.id, case_id=view.case_id, fields=view.fields_served, detail=_served_facts(view)
    )


def get_referral(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    referral_id: uuid.UUID,
    settings: Settings | None = None,
) -> ReferralView:
    """One referral, as the caller may see it; the read is audited. With `settings` (the API
    passes them) a partner client's read counts towards a bulk-read alert."""
    referral, case_row = load(session, principal, referral_id, Action.REFERRAL_READ)
    view = view_of(session, keyring, principal, referral, case_row)
    audit_read(session, principal, view)
    if settings is not None and principal.is_client:
        note_read(session, settings, principal, SubjectType.REFERRAL, referral.id)
    return view
