"""Matching keys: spellings and scripts of one name agree; different names mostly do not; the
token budget keeps at least two expected records per combination of a field's token values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.tracing import MATCH_STATUSES, REQUEST_STATUSES
from services.crypto.blind_index import MIN_COINCIDENCES
from services.errors import Conflict
from services.tracing.keys import KeyKind, plan
from services.tracing.normalise import name_units, phonetics, skeletons
from services.tracing.states import (
    MATCH_MOVES,
    REQUEST_MOVES,
    MatchEvent,
    MatchStatus,
    RequestEvent,
    RequestStatus,
    next_request_status,
)
from services.tracing.tokens import NameParts, case_parts, request_parts


def keys_of(text: str) -> set[str]:
    found: set[str] = set()
    for unit in name_units(text):
        found |= skeletons(unit) | phonetics(unit)
    return found


SAME = [
    ("Muhammad", "محمد"),
    ("Mohammed", "Muhammad"),
    ("Mohamed", "مُحَمَّد"),
    ("Abd al-Rahman", "عبدالرحمن"),
    ("Abdulrahman", "عبد الرحمن"),
    ("Abderrahmane", "Abdel Rahman"),
    ("Abdullah", "Abdulla"),
    ("عبدالله", "Abdallah"),
    ("Fatima", "فاطمة"),
    ("Fatma", "فاطمه"),
    ("Yusuf", "يوسف"),
    ("Youssef", "Yousif"),
    ("Hussein", "حسين"),
    ("Husayn", "Hussain"),
    ("Qasim", "Kasim"),
    ("Gasim", "قاسم"),
    ("Nur al-Din", "Nureddin"),
    ("نور الدين", "Nouraldeen"),
    ("al-Jubouri", "الجبوري"),
    ("Rêbwar", "ڕێبوار"),
    ("Şîlan", "Shilan"),
    ("شیلان", "Shilan"),
    ("Hikmat", "حكمة"),
    ("Ya'qub", "Yaqoub"),
    ("أحمد", "Ahmed"),
    ("إبراهيم", "Ibrahim"),
]


@pytest.mark.parametrize(("left", "right"), SAME)
def test_spellings_and_scripts_of_one_name_share_a_key(left: str, right: str) -> None:
    assert keys_of(left) & keys_of(right)


DIFFERENT = [("Ahmad", "Mahmoud"), ("Ali", "Omar"), ("Fatima", "Khadija"), ("Yusuf", "Hassan")]
# Known collision, left to the scorer: Muhammad/محمد and Mahmoud/محمود differ only by a long
# vowel, which consonant keys drop on purpose (Latin spellings write vowels, Arabic does not).


@pytest.mark.parametrize(("left", "right"), DIFFERENT)
def test_different_names_have_different_skeletons(left: str, right: str) -> None:
    assert not keys_of(left) & keys_of(right)


def test_connectors_dropped_and_compounds_kept_whole() -> None:
    assert name_units("Muhammad bin Ahmad ibn Hassan") == ["muhammad", "ahmad", "hassan"]
    assert len(name_units("Abd al Rahman")) == 1
    assert len(name_units("Abu Bakr")) == 1
    assert name_units("al-Jubouri") == ["jubouri"]


@given(st.text(max_size=40))
def test_keys_never_fail_and_are_plain_ascii(text: str) -> None:
    for unit in name_units(text):
        for code in skeletons(unit) | phonetics(unit):
            assert code.isascii() and code.isupper()


@pytest.mark.parametrize("planned", [100, 1_000, 10_000, 100_000, 1_000_000])
def test_budget_keeps_two_records_per_value_summed_over_a_fields_indexes(planned: int) -> None:
    budget = plan(planned)
    assert budget.expected_records_per_value >= MIN_COINCIDENCES
    # the largest total allowed: one more bit would break the rule
    assert planned / 2 ** (budget.total_bits + 1) < MIN_COINCIDENCES
    assert budget.bits[KeyKind.SKELETON] >= budget.bits[KeyKind.PHONETIC] >= 1


def test_default_plan() -> None:
    budget = plan(100_000)
    assert budget.bits == {KeyKind.SKELETON: 8, KeyKind.PHONETIC: 7}
    assert round(budget.expected_records_per_value, 2) == 3.05


def test_chains_fill_father_and_grandfather() -> None:
    parts = request_parts({"sought": {"names": ["Muhammad Ahmad Hassan Jubouri"]}})
    assert isinstance(parts, NameParts)
    assert [parts.get(f) for f in ("child", "father", "grandfather", "family")] == [  # type: ignore[arg-type]
        ["muhammad"],
        ["ahmad"],
        ["hassan"],
        ["jubouri"],
    ]
    case = case_parts({"child": {"given_name": "Ali", "other_names": ["علي حسين"]}})
    assert case.get("child") == ["ali", "علي"]  # type: ignore[arg-type]
    assert case.get("father") == ["حسين"]  # type: ignore[arg-type]


def test_state_tables_agree_with_the_check_constraints() -> None:
    assert {status.value for status in RequestStatus} == set(REQUEST_STATUSES)
    assert {status.value for status in MatchStatus} == set(MATCH_STATUSES)
    assert set(MATCH_MOVES) <= {(s, e) for s in MatchStatus for e in MatchEvent}
    assert (RequestStatus.REUNIFIED, RequestEvent.CLOSE) not in REQUEST_MOVES
    with pytest.raises(Conflict):
        next_request_status("open", RequestEvent.REUNIFY)
    assert next_request_status("matched", RequestEvent.REUNIFY) == RequestStatus.REUNIFIED
