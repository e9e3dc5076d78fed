"""Duplicate warning at intake: visible cases that look like the same child.

A child with a known birth date: the visible cases with the same normalised full name and the
same birth date. A child registered with only an estimated age: the visible cases, also without
a birth date, with the same full name and an estimated birth year at most one year apart (an
estimate of age is rough).

Candidates come from the compound tokens of `search_index` (name and birth date, or name and
estimated birth year), so their number follows the cases that agree on both plus a few token
coincidences, not the number of namesakes. Cases registered before those tokens existed wait in
`case_token_backlog` until the `reindex_cases` job has indexed them; until then they are
compared the old way (every visible namesake among them is decrypted), so none is skipped.

At most `MAX_EXAMINED` candidates are decrypted, newest first. When there are more (a common
name and the same estimated birth year, say), the check says it was partial instead of
pretending it looked at everything: the response's `duplicate_check` is `partial` and so is the
intake's audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, or_, select, union
from sqlalchemy.orm import Session

from models.cases import Case, CaseSearchToken, CaseTokenBacklog
from services.cases.content import date_of_birth, full_name
from services.cases.enums import DuplicateCheck
from services.cases.loading import views_of
from services.cases.search_index import (
    NAME_AGE,
    NAME_DOB,
    candidate_ids,
    duplicate_token,
    estimated_birth_year,
    matches_name,
)
from services.config import Settings
from services.crypto import Keyring
from services.policy import Principal, case_filter

MAX_EXAMINED = 50
"""Candidates decrypted per intake at most (newest first); beyond it the check is `partial`."""
AGE_TOLERANCE_YEARS = 1


@dataclass(frozen=True)
class Duplicates:
    ids: list[uuid.UUID]
    check: DuplicateCheck


NO_CHECK = Duplicates([], DuplicateCheck.COMPLETE)


def _token_conditions(
    keyring: Keyring, settings: Settings, name: str, dob: str | None, born: int | None
) -> list[ColumnElement[bool]]:
    if dob is not None:
        wanted = [(NAME_DOB, dob)]
    elif born is not None:
        span = range(born - AGE_TOLERANCE_YEARS, born + AGE_TOLERANCE_YEARS + 1)
        wanted = [(NAME_AGE, str(year)) for year in span]
    else:
        return []
    conditions: list[ColumnElement[bool]] = []
    for field, value in wanted:
        token = duplicate_token(keyring, settings, field, name, value)
        if token is not None:
            conditions.append(and_(CaseSearchToken.field == field, CaseSearchToken.token == token))
    return conditions


def _same_child(
    document: Mapping[str, Any], registered: date, name: str, dob: str | None, born: int | None
) -> bool:
    if not matches_name(document, name, ("full_name",)):
        return False
    if dob is not None:
        return date_of_birth(document) == dob
    theirs = estimated_birth_year(document, registered)
    return born is not None and theirs is not None and abs(theirs - born) <= AGE_TOLERANCE_YEARS


def find_duplicates(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    document: Mapping[str, Any],
    *,
    exclude: uuid.UUID,
    registered: date,
) -> Duplicates:
    """Cases this principal may see that look like the child of `document`, registered on
    `registered` (none when neither a birth date nor an estimated age is known)."""
    name = full_name(document)
    dob = date_of_birth(document)
    born = estimated_birth_year(document, registered)
    conditions = _token_conditions(keyring, settings, name, dob, born)
    if not conditions:
        return NO_CHECK
    candidates: CompoundSelect[Any] | Select[Any] = select(CaseSearchToken.case_id).where(
        or_(*conditions)
    )
    namesakes = candidate_ids(keyring, settings, name, fields=("full_name",))
    if namesakes is not None:
        # Not yet indexed by the compound tokens: every namesake among them is a candidate.
        # One IN over a UNION (not an OR of two INs, which PostgreSQL answers by scanning the
        # cases table), so the few candidate ids drive the query.
        candidates = union(
            candidates,
            select(CaseTokenBacklog.case_id).where(CaseTokenBacklog.case_id.in_(namesakes)),
        )
    cases = (
        session.execute(
            select(Case)
            .where(
                Case.id.in_(candidates),
                Case.id != exclude,
                case_filter(principal, Case.agency_id, Case.owner_id),
            )
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(MAX_EXAMINED + 1)
        )
        .scalars()
        .all()
    )
    check = DuplicateCheck.PARTIAL if len(cases) > MAX_EXAMINED else DuplicateCheck.COMPLETE
    ids = [
        view.case.id
        for view in views_of(session, keyring, cases[:MAX_EXAMINED])
        if _same_child(view.document, view.case.created_at.date(), name, dob, born)
    ]
    return Duplicates(ids, check)
