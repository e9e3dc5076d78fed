"""Duplicate warning at intake: visible cases with the same normalised full name and birth date."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cases import Case
from services.cases.content import date_of_birth, full_name
from services.cases.loading import views_of
from services.cases.search_index import candidate_ids, matches_name
from services.config import Settings
from services.crypto import Keyring
from services.policy import Principal, case_filter

MAX_CANDIDATES = 500


def find_duplicates(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    document: Mapping[str, Any],
    *,
    exclude: uuid.UUID,
) -> list[uuid.UUID]:
    """Ids of cases this principal may see that look like the same child (none without a DOB)."""
    dob = date_of_birth(document)
    if dob is None:
        return []
    name = full_name(document)
    candidates = candidate_ids(keyring, settings, name, fields=("full_name",))
    if candidates is None:
        return []
    cases = (
        session.execute(
            select(Case)
            .where(
                Case.id.in_(candidates),
                Case.id != exclude,
                case_filter(principal, Case.agency_id, Case.owner_id),
            )
            .order_by(Case.created_at, Case.id)
            .limit(MAX_CANDIDATES)
        )
        .scalars()
        .all()
    )
    return [
        view.case.id
        for view in views_of(session, keyring, cases)
        if matches_name(view.document, name, ("full_name",)) and date_of_birth(view.document) == dob
    ]
