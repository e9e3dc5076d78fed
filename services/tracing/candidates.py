"""Candidates from agreeing tokens: records whose name tokens agree with a query's on several
name parts, ranked by how rare the agreeing tokens are, at most `MAX_CANDIDATES`.

One query fetches every token row equal to one of the query's tokens (per field and kind). A
record agrees on a field when any of its tokens of that field equals one of the query's; the
field's evidence is the rarest agreeing token's inverse frequency (log N / rows with that token,
counted in the same result), so agreeing on "Muhammad" tells less than agreeing on "Shilan".
A record needs agreement on at least two name parts (or on the only part the query has).
Nothing is decrypted here: the caller decrypts only the candidates returned.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from services.tracing.keys import NameField
from services.tracing.tokens import TokenSet

MAX_CANDIDATES = 50
"""At most this many records are decrypted and scored per query."""


@dataclass(frozen=True)
class Candidate:
    record_id: uuid.UUID
    fields: frozenset[NameField]
    evidence: float


def find_candidates(
    session: Session,
    token_model: Any,
    owner_column: Any,
    query: TokenSet,
    *,
    population: int,
    restrict: Sequence[ColumnElement[bool]] = (),
    join: Any = None,
    exclude: frozenset[uuid.UUID] = frozenset(),
    limit: int = MAX_CANDIDATES,
) -> list[Candidate]:
    """Records of `token_model` (owner id in `owner_column`) agreeing with `query`;
    `population` is how many records there are (the base of the inverse frequency)."""
    conditions = [
        and_(
            token_model.field == name_field.value,
            token_model.kind == kind.value,
            token_model.token.in_(sorted(tokens)),
        )
        for (name_field, kind), tokens in query.items()
        if tokens
    ]
    if not conditions:
        return []
    statement = select(owner_column, token_model.field, token_model.kind, token_model.token)
    if join is not None:
        statement = statement.join(join)
    rows = session.execute(statement.where(or_(*conditions), *restrict)).all()
    if not rows:
        return []
    total = max(population, 1)
    frequency = Counter((row[1], row[2], row[3]) for row in rows)
    evidence: dict[uuid.UUID, dict[tuple[str, str], float]] = defaultdict(dict)
    for record_id, field, kind, token in rows:
        if record_id in exclude:
            continue
        weight = math.log((total + 1) / frequency[(field, kind, token)])
        per_key = evidence[record_id]
        per_key[(field, kind)] = max(per_key.get((field, kind), 0.0), weight)
    query_fields = {name_field for (name_field, _), tokens in query.items() if tokens}
    needed = min(2, len(query_fields))
    ranked = []
    for record_id, per_key in evidence.items():
        fields = frozenset(NameField(field) for field, _ in per_key)
        if len(fields) >= needed:
            ranked.append(Candidate(record_id, fields, sum(per_key.values())))
    ranked.sort(key=lambda candidate: -candidate.evidence)
    return ranked[:limit]
