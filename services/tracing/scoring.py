"""Scoring a decrypted candidate: per name part, then weighted; sex and age must be compatible.

Each name part is compared unit by unit on the consonant skeletons (Jaro-Winkler, `rapidfuzz`),
which are script-independent; two Latin spellings are also compared on their letters, and an
agreeing phonetic code counts as a near match. The best pair of units per part is its
similarity. Parts weigh by how much they tell (the child's own name most, then the father's,
grandfather's, mother's and family name), only parts known on both sides count, and the score is
shrunk towards 0.5 when little is known, so a match on the given name alone never looks as
strong as a match on a whole chain.

`likely` is a calibrated label, not a rank: the best candidate of an enquiry, strictly ahead of
every other, at `LIKELY_SCORE` or more, the lowest score at which the fixed evaluation set
(`make tracing-eval`) measured a precision of at least 0.95 for that rule. Two candidates that
score alike (namesakes with the same chain of names and a compatible age) are each as likely to
be the child as the other, so neither is called likely: a score alone cannot say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from rapidfuzz.distance import JaroWinkler

from services.tracing.enums import MatchFieldResult as FieldResult
from services.tracing.enums import MatchLabel as Label
from services.tracing.keys import NameField
from services.tracing.normalise import phonetics, pivot, skeletons
from services.tracing.tokens import NameParts

WEIGHTS: Mapping[NameField, float] = {
    NameField.CHILD: 0.40,
    NameField.FATHER: 0.25,
    NameField.GRANDFATHER: 0.15,
    NameField.MOTHER: 0.10,
    NameField.FAMILY: 0.10,
}
PRIOR_WEIGHT = 0.2
"""Evidence-free weight pulling the score towards 0.5 (see the module docstring)."""

BIRTH_DATE_WEIGHT = 0.15
"""Weight of an exact birth date known on both sides (equal: 1, different: 0.3)."""
STRONG_PARTS = 3
WEAK_PENALTY = 0.08
"""Per strong part short of `STRONG_PARTS` (name parts that match, an equal birth date), the
score drops by this much: two common names that agree ("Ahmad son of Muhammad") are a namesake
as often as the same child, so they alone never reach `likely`."""

PHONETIC_SIMILARITY = 0.9
MATCH_AT = 0.95
PARTIAL_AT = 0.8

LIKELY_SCORE = 0.81
"""Calibrated on the evaluation set (docs/tracing.md): precision of `likely` >= 0.95 there."""
POSSIBLE_SCORE = 0.40
"""Below this a candidate is not proposed at all. Low on purpose: a child whose given name was
changed (for safety, or on joining a group) agrees only on the father's and grandfather's names
and scores about 0.45; at 0.40 the evaluation finds 62% of them instead of 34% (overall top-10
recall 0.952 instead of 0.935) for 4.6 proposals per enquiry instead of 2.7, all but the best
labelled `possible`. Missing a child costs more than reading two more proposals."""

FIELD_NAMES: Mapping[NameField, str] = {
    NameField.CHILD: "given_name",
    NameField.FATHER: "father_name",
    NameField.GRANDFATHER: "grandfather_name",
    NameField.MOTHER: "mother_name",
    NameField.FAMILY: "family_name",
}
"""How each part is named in a match's per-field comparison."""


def label_of(score: float, runner_up: float | None) -> Label:
    """`likely` for a score of at least `LIKELY_SCORE` strictly ahead of `runner_up`, the best
    score of any other candidate for the same enquiry (None when there is none)."""
    ahead = runner_up is None or score > runner_up
    return Label.LIKELY if score >= LIKELY_SCORE and ahead else Label.POSSIBLE


@dataclass(frozen=True)
class Person:
    """What the scorer needs of one side: name parts, sex, a range of birth years."""

    parts: NameParts
    sex: str | None
    born: tuple[int, int] | None
    birth_date: str | None = None
    """The exact birth date (ISO) when known: agreeing on it is strong evidence."""


@dataclass(frozen=True)
class Comparison:
    compatible: bool
    score: float
    fields: dict[str, FieldResult]


def _latin(unit: str) -> bool:
    return unit.isascii()


def unit_similarity(left: str, right: str) -> float:
    best = 0.0
    for a in skeletons(left):
        for b in skeletons(right):
            best = max(best, JaroWinkler.similarity(a, b))
    if best < 1.0 and phonetics(left) & phonetics(right):
        best = max(best, PHONETIC_SIMILARITY)
    if _latin(left) == _latin(right):
        # Same script: the letters themselves (vowels included) tell Muhammad from Mahmoud,
        # which share a consonant skeleton.
        best = (best + JaroWinkler.similarity(pivot(left), pivot(right))) / 2
    return best


def part_similarity(left: list[str], right: list[str]) -> float | None:
    if not left or not right:
        return None
    return max(unit_similarity(a, b) for a in left for b in right)


def _result(similarity: float | None) -> FieldResult:
    if similarity is None:
        return FieldResult.UNKNOWN
    if similarity >= MATCH_AT:
        return FieldResult.MATCH
    if similarity >= PARTIAL_AT:
        return FieldResult.PARTIAL
    return FieldResult.MISMATCH


def birth_years(child: Mapping[str, Any], at: date) -> tuple[int, int] | None:
    """Plausible birth years: a birth date ±1 (typing errors), an estimated age ±2."""
    dob = child.get("date_of_birth")
    if isinstance(dob, str) and dob:
        year = date.fromisoformat(dob).year
        return (year - 1, year + 1)
    age = child.get("estimated_age")
    if isinstance(age, int):
        year = at.year - age
        return (year - 3, year + 2)
    return None


def sex_compatible(left: str | None, right: str | None) -> bool:
    known = {"female", "male"}
    return left not in known or right not in known or left == right


def compare(query: Person, candidate: Person) -> Comparison:
    fields: dict[str, FieldResult] = {}
    total = PRIOR_WEIGHT * 0.5
    weight = PRIOR_WEIGHT
    strong = 0
    for name_field, field_weight in WEIGHTS.items():
        similarity = part_similarity(query.parts.get(name_field), candidate.parts.get(name_field))
        fields[FIELD_NAMES[name_field]] = _result(similarity)
        if similarity is not None:
            total += field_weight * similarity
            weight += field_weight
            strong += similarity >= MATCH_AT
    if query.birth_date and candidate.birth_date:
        same_day = query.birth_date == candidate.birth_date
        total += BIRTH_DATE_WEIGHT * (1.0 if same_day else 0.3)
        weight += BIRTH_DATE_WEIGHT
        strong += same_day
    sex_ok = sex_compatible(query.sex, candidate.sex)
    fields["sex"] = (
        FieldResult.UNKNOWN
        if query.sex not in ("female", "male") or candidate.sex not in ("female", "male")
        else FieldResult.MATCH
        if sex_ok
        else FieldResult.MISMATCH
    )
    age_ok = True
    if query.born is None or candidate.born is None:
        fields["age"] = FieldResult.UNKNOWN
    else:
        age_ok = query.born[0] <= candidate.born[1] and candidate.born[0] <= query.born[1]
        fields["age"] = FieldResult.MATCH if age_ok else FieldResult.MISMATCH
    score = total / weight - WEAK_PENALTY * max(0, STRONG_PARTS - strong)
    return Comparison(compatible=sex_ok and age_ok, score=round(score, 4), fields=fields)
