"""Candidates from agreeing tokens: records whose name tokens agree with a query's on several
name parts, ranked by how rare the agreeing tokens are, at most `MAX_CANDIDATES`.

A record agrees on a field when any of its tokens of that field equals one of the query's. Per
agreeing field and token kind (skeleton, phonetic), the evidence is the rarest agreeing token's
inverse frequency (log N / records with that token), so agreeing on "Muhammad" tells less than
agreeing on "Shilan"; a record's evidence is the sum, so a spelling variant that agrees on both
kinds of a part outranks a truncation coincidence on one. A record needs agreement on at least
two name parts (or on the only part the query has).
Nothing is decrypted here: the caller decrypts only the candidates returned.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, or_, select
from sqlalchemy.orm import Session

from services.tracing.tokens import TokenSet

MAX_CANDIDATES = 50
"""At most this many records are decrypted and scored per query."""


@dataclass(frozen=True)
class Candidate:
    record_id: uuid.UUID
    parts: int
    """How many name parts agree."""
    evidence: float


def find_candidates(
    session: Session,
    token_model: Any,
    owner_column: Any,
    query: TokenSet,
    *,
    population: int | Callable[[], int],
    restrict: Sequence[ColumnElement[bool]] = (),
    join: Any = None,
    exclude: frozenset[uuid.UUID] = frozenset(),
    limit: int = MAX_CANDIDATES,
) -> list[Candidate]:
    """Records of `token_model` (owner id in `owner_column`) agreeing with `query`;
    `population` is how many records there are (the base of the inverse frequency), or a
    function that counts them: it is then only called when some token agrees, so a query that
    meets no record (a new case while no open enquiry shares a name part) costs one query.

    Two queries, both aggregated by the database: the frequency of each of the query's tokens
    (a few dozen rows), then per record the evidence (per agreeing field and kind the weight of
    its rarest agreeing token, summed) and its agreeing fields, best first, `limit` rows. A
    common name's tokens match thousands of rows; they are counted where they lie instead of
    being carried into Python one by one."""
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
    matching = or_(*conditions)

    def scoped(statement: Any) -> Any:
        if join is not None:
            statement = statement.join(join)
        return statement.where(matching, *restrict)

    counts = session.execute(
        scoped(
            select(token_model.field, token_model.kind, token_model.token, func.count())
        ).group_by(token_model.field, token_model.kind, token_model.token)
    ).all()
    if not counts:
        return []
    total = max(population if isinstance(population, int) else population(), 1)
    weight = case(
        *[
            (
                and_(
                    token_model.field == field,
                    token_model.kind == kind,
                    token_model.token == token,
                ),
                literal(math.log((total + 1) / count)),
            )
            for field, kind, token, count in counts
        ],
        else_=literal(0.0),
    )
    per_key = scoped(
        select(
            owner_column.label("owner"),
            token_model.field.label("field"),
            func.max(weight).label("weight"),
        )
    )
    if exclude:
        per_key = per_key.where(owner_column.not_in(sorted(exclude)))
    per_key = per_key.group_by(owner_column, token_model.field, token_model.kind).subquery()
    query_fields = {name_field for (name_field, _), tokens in query.items() if tokens}
    needed = min(2, len(query_fields))
    evidence = func.sum(per_key.c.weight)
    fields_agreeing = func.count(distinct(per_key.c.field))
    rows = session.execute(
        select(per_key.c.owner, evidence, fields_agreeing)
        .group_by(per_key.c.owner)
        .having(fields_agreeing >= needed)
        .order_by(evidence.desc(), per_key.c.owner)
        .limit(limit)
    ).all()
    return [Candidate(owner, int(parts), float(score)) for owner, score, parts in rows]
