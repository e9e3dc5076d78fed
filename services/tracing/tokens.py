"""Name parts of cases and tracing requests, and their keyed, truncated tokens.

A case names the child (`given_name`, `other_names`), the father, grandfather, mother and family.
A tracing request names the child in several forms (`sought.names`: any script, any spelling,
sometimes the whole chain "Muhammad Ahmad Hassan"), and optionally the father, grandfather and
mother. Both sides are read into the same five name fields (`NameParts`): in a chain, the first
unit is the child's name, the second the father's, the third the grandfather's, and the last unit
of a chain of two or more may be a family name.

Only tokens are stored: for every unit of every field, the keyed HMAC of its skeleton and of its
phonetic code, truncated to the field's budget (`services.tracing.keys`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from models.tracing import CaseTracingToken, TracingRequestToken
from services.crypto import Keyring, truncated_hmac
from services.tracing.keys import Budget, KeyKind, NameField, TracingKeys, plan
from services.tracing.normalise import name_units, phonetics, skeletons

TokenKey = tuple[NameField, KeyKind]
TokenSet = dict[TokenKey, set[str]]


@dataclass
class NameParts:
    """The name units of one record, per field (units are normalised, never stored)."""

    units: dict[NameField, list[str]] = field(default_factory=dict)

    def add(self, name_field: NameField, units: Iterable[str]) -> None:
        bucket = self.units.setdefault(name_field, [])
        for unit in units:
            if unit not in bucket:
                bucket.append(unit)

    def get(self, name_field: NameField) -> list[str]:
        return self.units.get(name_field, [])

    def add_chain(self, text: str | None, *, first: NameField = NameField.CHILD) -> None:
        """A name as people say it: given (or `first`), father, grandfather, maybe family."""
        units = name_units(text or "")
        if not units:
            return
        order = (first, NameField.FATHER, NameField.GRANDFATHER)
        for name_field, unit in zip(order, units, strict=False):
            self.add(name_field, [unit])
        if len(units) >= 2:
            self.add(NameField.FAMILY, [units[-1]])

    def add_name(self, name_field: NameField, text: str | None) -> None:
        """A field that holds one name part (all its units belong to that part)."""
        self.add(name_field, name_units(text or ""))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def case_parts(document: Mapping[str, Any]) -> NameParts:
    child = document.get("child") or {}
    parts = NameParts()
    parts.add_name(NameField.CHILD, _text(child.get("given_name")))
    for other in child.get("other_names") or []:
        parts.add_chain(_text(other))
    parts.add_name(NameField.FAMILY, _text(child.get("family_name")))
    parts.add_name(NameField.FATHER, _text(child.get("father_name")))
    parts.add_name(NameField.GRANDFATHER, _text(child.get("grandfather_name")))
    parts.add_name(NameField.MOTHER, _text(child.get("mother_name")))
    return parts


def request_parts(document: Mapping[str, Any]) -> NameParts:
    sought = document.get("sought") or {}
    parts = NameParts()
    for name in sought.get("names") or []:
        parts.add_chain(_text(name))
    parts.add_name(NameField.FATHER, _text(sought.get("father_name")))
    parts.add_name(NameField.GRANDFATHER, _text(sought.get("grandfather_name")))
    parts.add_name(NameField.MOTHER, _text(sought.get("mother_name")))
    return parts


class Tokenizer:
    """Keyed, truncated tokens of name parts at one budget (one per keyring and plan)."""

    def __init__(self, keyring: Keyring, planned_records: int) -> None:
        self.keys = TracingKeys(keyring)
        self.budget: Budget = plan(planned_records)

    def token(self, name_field: NameField, kind: KeyKind, code: str) -> str:
        return truncated_hmac(self.keys.key(name_field, kind), code, self.budget.bits[kind])

    def tokens(self, parts: NameParts) -> TokenSet:
        result: TokenSet = {}
        for name_field, units in parts.units.items():
            for unit in units:
                for kind, codes in (
                    (KeyKind.SKELETON, skeletons(unit)),
                    (KeyKind.PHONETIC, phonetics(unit)),
                ):
                    for code in codes:
                        result.setdefault((name_field, kind), set()).add(
                            self.token(name_field, kind, code)
                        )
        return result


_TOKENIZERS: dict[tuple[int, int], Tokenizer] = {}


def tokenizer(keyring: Keyring, planned_records: int) -> Tokenizer:
    """One per keyring and plan per process, so the HKDF keys are derived once."""
    cache_key = (id(keyring), planned_records)
    found = _TOKENIZERS.get(cache_key)
    if found is None:
        found = _TOKENIZERS[cache_key] = Tokenizer(keyring, planned_records)
    return found


def write_case_tokens(
    session: Session, tokens: TokenSet, case_id: uuid.UUID, *, replace: bool = True
) -> None:
    if replace:
        session.execute(delete(CaseTracingToken).where(CaseTracingToken.case_id == case_id))
    session.add_all(
        CaseTracingToken(case_id=case_id, field=name_field.value, kind=kind.value, token=token)
        for (name_field, kind), values in tokens.items()
        for token in values
    )
    session.flush()


def write_request_tokens(
    session: Session, tokens: TokenSet, request_id: uuid.UUID, *, replace: bool = True
) -> None:
    if replace:
        session.execute(
            delete(TracingRequestToken).where(TracingRequestToken.request_id == request_id)
        )
    session.add_all(
        TracingRequestToken(
            request_id=request_id, field=name_field.value, kind=kind.value, token=token
        )
        for (name_field, kind), values in tokens.items()
        for token in values
    )
    session.flush()
