# ruff: noqa: RUF001  (the Arabic-script letters in this file are intentional)
"""Property: with a deliberately tiny blind index (many collisions), a name search returns
exactly the visible cases whose given, family or full name normalises to the query: never a
non-match, never a miss."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from services.cases import search_index
from services.cases.intake import create_case
from services.cases.listing import CaseQuery, list_cases
from services.config import Settings
from services.crypto import BlindIndex, Keyring, init_keyring, normalise
from services.identity.enums import PrincipalKind
from services.policy import Principal, Role
from tests.factories import OMIT, case_body, make_agency, make_user

GIVEN = ["Amal", "أمل", "ئاڤین", "Rêzan", "فاطمة", "Omar", "عمر", "Ali", "علي", "Kawa"]
FAMILY = ["Hassan", "حسن", "کەریمی", "Ali", "Şêxo", "الحسن", "Omar"]
TWEAKS = [
    lambda s: s,
    str.upper,
    str.lower,
    lambda s: f"  {s} ",
    lambda s: s.replace("ی", "ي").replace("ک", "ك").replace("ە", "ه"),
    lambda s: s.replace("ة", "ه").replace("أ", "ا"),
    lambda s: s.replace("ي", "ى"),
]


class TinyIndex(BlindIndex):
    def __init__(self, keyring: Keyring, planned_records: int) -> None:
        super().__init__(keyring, planned_records)
        self.bits = 2


def _body(given_name: str, family: str) -> dict[str, Any]:
    return case_body(
        child={"given_name": given_name, "family_name": family, "sex": "unknown"},
        location={"governorate": "G", "district": "D"},
        caregivers=[],
        separation_status="unknown",
        protection_concerns=[],
        risk_level="low",
        narrative=OMIT,
    )


@pytest.fixture
def corpus(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[Keyring, Principal, dict[Any, tuple[str, str]]]:
    monkeypatch.setattr(
        search_index,
        "blind_index",
        lambda keyring, settings: TinyIndex(keyring, 100),  # noqa: ARG005  replaced signature
    )
    keyring = init_keyring(settings)
    agency = make_agency(db)
    user = make_user(db, agency, Role.SUPERVISOR)
    owner = make_user(db, agency, Role.CASEWORKER)
    boss = Principal(
        kind=PrincipalKind.USER, id=user.id, agency_id=agency.id, name="s", role=Role.SUPERVISOR
    )
    worker = Principal(
        kind=PrincipalKind.USER, id=owner.id, agency_id=agency.id, name="c", role=Role.CASEWORKER
    )
    names: dict[Any, tuple[str, str]] = {}
    for index, given_name in enumerate(GIVEN):
        family = FAMILY[index % len(FAMILY)]
        view = create_case(db, keyring, settings, worker, _body(given_name, family))
        names[view.case.id] = (given_name, family)
    return keyring, boss, names


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.one_of(
        st.tuples(st.sampled_from(GIVEN + FAMILY), st.sampled_from(TWEAKS)).map(
            lambda pair: pair[1](pair[0])
        ),
        st.tuples(st.sampled_from(GIVEN), st.sampled_from(FAMILY)).map(" ".join),
        st.text(alphabet="abAmlأمليیكکهةە ", min_size=1, max_size=8),
    )
)
def test_search_returns_exactly_the_matches(
    db: Session,
    settings: Settings,
    corpus: tuple[Keyring, Principal, dict[Any, tuple[str, str]]],
    query: str,
) -> None:
    keyring, boss, names = corpus
    wanted = normalise(query)
    if not wanted:
        return
    expected = {
        case_id
        for case_id, (given_name, family) in names.items()
        if wanted in {normalise(given_name), normalise(family), normalise(f"{given_name} {family}")}
    }
    page = list_cases(db, keyring, settings, boss, CaseQuery(name=query, limit=200))
    assert {view.case.id for view in page.items} == expected
