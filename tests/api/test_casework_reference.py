"""Reference lists (concerns, needs, service types, closure reasons): labels in English, Arabic
and Sorani Kurdish, `label` chosen by Accept-Language (q-values honoured, English otherwise)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.routers.reference import choose_language
from services.cases.concerns import CONCERN_CODES
from services.cases.enums import ClosureReason
from services.cases.labels import Language
from services.casework.codes import NEED_CODES, SERVICE_LABELS
from services.casework.enums import Domain
from services.referrals.enums import ServiceType
from tests.api.test_cases_helpers import World, world
from tests.factories import API

__all__ = ["world"]

LISTS = {
    "concerns": CONCERN_CODES,
    "needs": NEED_CODES,
    "services": frozenset(ServiceType),
    "closure-reasons": frozenset(reason.value for reason in ClosureReason),
}


@pytest.mark.parametrize("name", sorted(LISTS))
@pytest.mark.parametrize(
    ("header", "language"),
    [(None, "en"), ("ar", "ar"), ("ckb", "ckb"), ("ckb-IQ, ar;q=0.8", "ckb"), ("fr", "en")],
)
def test_labels_follow_accept_language(
    client: TestClient, world: World, name: str, header: str | None, language: str
) -> None:
    headers = dict(world.owner.headers)
    if header is not None:
        headers["Accept-Language"] = header
    response = client.get(f"{API}/reference/{name}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-language"] == language
    items = response.json()["items"]
    assert {item["code"] for item in items} == LISTS[name]
    for item in items:
        labels = item["labels"]
        assert item["label"] == labels[language]
        assert all(labels[key].strip() for key in ("en", "ar", "ckb"))
        assert len({labels["en"], labels["ar"]}) == 2


def test_every_need_belongs_to_a_domain_and_every_domain_has_needs() -> None:
    from services.casework.codes import NEEDS

    assert {need.domain for need in NEEDS} == set(Domain)
    assert set(SERVICE_LABELS) == set(ServiceType)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,en;q=0.9", Language.EN),
        ("ar-IQ;q=0.5, ckb;q=0.9", Language.CKB),
        ("ku-Arab", Language.CKB),
        ("ar;q=0, en;q=0.1", Language.EN),
        ("de, ar;q=0.3", Language.AR),
        ("ar;q=bad", Language.EN),
        ("", Language.EN),
    ],
)
def test_choose_language(header: str, expected: Language) -> None:
    assert choose_language(header) == expected


def test_reference_lists_need_a_token(client: TestClient) -> None:
    for name in LISTS:
        assert client.get(f"{API}/reference/{name}").status_code == 401
