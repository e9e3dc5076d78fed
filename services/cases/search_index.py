"""Blind-index tokens of a case's names, and the candidate lookup used by search and intake.

Indexed per case: `given_name`, `family_name` and `full_name` ("given family"), each with its own
key, so equal tokens in two fields say nothing about each other. Tokens are truncated, so a
lookup returns candidates that the caller decrypts and filters with `matches_name`: a token
match alone never returns a case. Birth date, sex and
places are not indexed on their own (low cardinality or guessable); a birth date only narrows a
name search after decryption.

For the duplicate warning at intake, two compound tokens (`DUPLICATE_FIELDS`), each over the
normalised full name together with when the child was born: `name_dob` (full name and birth
date) for a child with a known birth date, `name_age` (full name and the birth year estimated
from `estimated_age` at registration) for one without. A namesake with another birth date has
another token, so the candidates are the few cases that agree on both, however common the name.
They are truncated to the same number of bits as the name tokens, so each still covers a few
unrelated cases by coincidence, and the caller confirms every candidate after decryption.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select
from sqlalchemy.orm import Session

from models.cases import CaseSearchToken, CaseTokenBacklog
from services.cases.content import date_of_birth, full_name
from services.config import Settings
from services.crypto import BlindIndex, Keyring, normalise

NAME_FIELDS: tuple[str, ...] = ("given_name", "family_name", "full_name")
NAME_DOB = "name_dob"
NAME_AGE = "name_age"
DUPLICATE_FIELDS: tuple[str, ...] = (NAME_DOB, NAME_AGE)


_INDEXES: dict[tuple[int, int], BlindIndex] = {}


def blind_index(keyring: Keyring, settings: Settings) -> BlindIndex:
    """The index sized for `settings.planned_case_count` (tests may patch this); one per keyring
    and size per process, so its per-field HKDF keys are derived once, not on every search."""
    # The cached index holds its keyring, so the keyring's id is not reused while cached.
    key = (id(keyring), settings.planned_case_count)
    index = _INDEXES.get(key)
    if index is None:
        index = _INDEXES[key] = BlindIndex(keyring, settings.planned_case_count)
    return index


def name_values(document: Mapping[str, Any]) -> dict[str, str]:
    child = document.get("child") or {}
    return {
        "given_name": str(child.get("given_name") or ""),
        "family_name": str(child.get("family_name") or ""),
        "full_name": full_name(document),
    }


def other_names(document: Mapping[str, Any]) -> list[str]:
    """`child.other_names`: other spellings and scripts of the given name, searched like it."""
    child = document.get("child") or {}
    return [str(name) for name in child.get("other_names") or [] if name]


def estimated_birth_year(document: Mapping[str, Any], registered: date) -> int | None:
    """The birth year a child without a birth date was estimated to have, from the
    `estimated_age` given at registration (`registered`: the case's creation date)."""
    if date_of_birth(document) is not None:
        return None
    age = (document.get("child") or {}).get("estimated_age")
    if not isinstance(age, int) or isinstance(age, bool):
        return None
    return registered.year - age


def duplicate_values(document: Mapping[str, Any], registered: date) -> list[tuple[str, str]]:
    """The (field, birth part) of the case's compound duplicate token, if it has one."""
    dob = date_of_birth(document)
    if dob is not None:
        return [(NAME_DOB, dob)]
    year = estimated_birth_year(document, registered)
    return [] if year is None else [(NAME_AGE, str(year))]


def duplicate_token(
    keyring: Keyring, settings: Settings, field: str, name: str, born: str
) -> str | None:
    return blind_index(keyring, settings).compound_token(field, (name, born))


def token_rows(
    keyring: Keyring, settings: Settings, document: Mapping[str, Any], registered: date
) -> list[tuple[str, str]]:
    """Every (field, token) the case is indexed under, sorted, without repeats."""
    index = blind_index(keyring, settings)
    values = [*name_values(document).items(), *(("given_name", o) for o in other_names(document))]
    tokens: set[tuple[str, str | None]] = {
        (field, index.token(field, value)) for field, value in values
    }
    name = full_name(document)
    tokens |= {
        (field, index.compound_token(field, (name, born)))
        for field, born in duplicate_values(document, registered)
    }
    return sorted((field, token) for field, token in tokens if token is not None)


def indexed_values(document: Mapping[str, Any], registered: date) -> tuple[object, ...]:
    """What the tokens depend on: when it is unchanged by an update, the tokens are too."""
    return (name_values(document), other_names(document), duplicate_values(document, registered))


def write_tokens(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    case_id: uuid.UUID,
    document: Mapping[str, Any],
    *,
    registered: date,
    replace: bool = True,
) -> None:
    """Replace the case's tokens with those of `document` (`replace=False`: a new case, which
    has none yet, so no DELETE round trip). `registered`: the day the case was created (the
    base of an estimated birth year)."""
    if replace:
        session.execute(delete(CaseSearchToken).where(CaseSearchToken.case_id == case_id))
        session.execute(delete(CaseTokenBacklog).where(CaseTokenBacklog.case_id == case_id))
    for field, token in token_rows(keyring, settings, document, registered):
        session.add(CaseSearchToken(case_id=case_id, field=field, token=token))
    session.flush()


def candidate_ids(
    keyring: Keyring, settings: Settings, name: str, fields: tuple[str, ...] = NAME_FIELDS
) -> Select[Any] | None:
    """Subquery of case ids whose token for any of `fields` equals the query's; None if empty."""
    index = blind_index(keyring, settings)
    conditions: list[ColumnElement[bool]] = []
    for field in fields:
        token = index.token(field, name)
        if token is not None:
            conditions.append(and_(CaseSearchToken.field == field, CaseSearchToken.token == token))
    if not conditions:
        return None
    return select(CaseSearchToken.case_id).where(or_(*conditions))


def matches_name(
    document: Mapping[str, Any], name: str, fields: tuple[str, ...] = NAME_FIELDS
) -> bool:
    """The exact check after decryption: does the normalised name equal one of the fields?"""
    wanted = normalise(name)
    if not wanted:
        return False
    values = name_values(document)
    if any(normalise(values[field]) == wanted for field in fields):
        return True
    return "given_name" in fields and any(normalise(o) == wanted for o in other_names(document))
