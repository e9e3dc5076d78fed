"""A request with several invalid fields gets ONE 422 problem that names every one of them
(wherever they are: body, nested body, list items, query, path, header), not only the first:
a client fixes its request in one round trip. Nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.cases import Case
from models.referrals import Referral
from services.config import Settings
from services.policy import Role
from tests.factories import API, case_body, make_agency, make_user, user_headers


def _problem(response: Any) -> tuple[set[tuple[Any, ...]], str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "/problems/validation-error" and body["status"] == 422
    locs = [tuple(error["loc"]) for error in body["errors"]]
    assert len(locs) == len(set(locs)), locs  # each field once
    for error in body["errors"]:
        assert error["msg"]  # says what is wrong
    return set(locs), body["detail"]


def _count(db: Session, model: type[Any]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def caseworker(db: Session, settings: Settings) -> dict[str, str]:
    return user_headers(db, make_user(db, make_agency(db), Role.CASEWORKER), settings)


def test_an_intake_with_many_bad_fields_names_each_of_them(
    client: TestClient, db: Session, caseworker: dict[str, str]
) -> None:
    body = case_body()
    body["child"] = {**body["child"], "given_name": "   ", "sex": "boy", "estimated_age": -1}
    body["location"] = {"governorate": "Duhok"}  # district missing
    body["caregivers"] = [{"name": "Leyla", "relationship": "aunt", "phone": "call me"}]
    body["risk_level"] = "severe"
    body["favourite_colour"] = "blue"
    before = _count(db, Case)
    headers = {**caseworker, "Idempotency-Key": "k" * 201}

    locs, detail = _problem(client.post(f"{API}/cases", json=body, headers=headers))

    expected = {
        ("header", "Idempotency-Key"),
        ("body", "child", "given_name"),
        ("body", "child", "sex"),
        ("body", "child", "estimated_age"),
        ("body", "location", "district"),
        ("body", "caregivers", 0, "phone"),
        ("body", "risk_level"),
        ("body", "favourite_colour"),
    }
    assert locs == expected
    for loc in expected:
        assert ".".join(str(part) for part in loc) in detail, (loc, detail)
    assert _count(db, Case) == before


def test_several_bad_query_parameters_are_all_named(
    client: TestClient, caseworker: dict[str, str]
) -> None:
    params = {
        "limit": "0",
        "risk_level": "severe",
        "status": "archived",
        "stage": "nowhere",
        "owner_id": "not-an-id",
        "overdue": "perhaps",
        "date_of_birth": "2014-02-30",
    }
    locs, detail = _problem(client.get(f"{API}/cases", params=params, headers=caseworker))
    assert locs == {("query", name) for name in params}
    for name in params:
        assert f"query.{name}" in detail


def test_path_header_and_body_errors_come_in_one_answer(
    client: TestClient, db: Session, caseworker: dict[str, str]
) -> None:
    body = {
        "to_agency_id": "somewhere",
        "service_type": "haircut",
        "urgency": "yesterday",
        "reason": "",
        "shared_fields": ["child.given_name"],
        "consent": {"given_by": "neighbour", "obtained_at": "not a time"},
    }
    headers = {**caseworker, "Idempotency-Key": "k" * 201}
    before = _count(db, Referral)

    locs, _ = _problem(
        client.post(f"{API}/cases/not-a-case-id/referrals", json=body, headers=headers)
    )

    assert locs == {
        ("path", "case_id"),
        ("header", "Idempotency-Key"),
        ("body", "to_agency_id"),
        ("body", "service_type"),
        ("body", "urgency"),
        ("body", "reason"),
        ("body", "consent", "given_by"),
        ("body", "consent", "obtained_at"),
    }
    assert _count(db, Referral) == before


def test_domain_rules_also_name_every_field_they_refuse(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """Past the schema, the rules only the service knows (known concern codes, no birth in
    the future, shareable paths) still answer every failing field at once."""
    agency = make_agency(db)
    user = make_user(db, agency, Role.CASEWORKER)
    headers = user_headers(db, user, settings)
    body = case_body(protection_concerns=["caafag", "no_such_concern", "caafag"])
    body["child"] = {**body["child"], "date_of_birth": "2999-01-01"}
    before = _count(db, Case)

    locs, _ = _problem(client.post(f"{API}/cases", json=body, headers=headers))

    assert locs == {
        ("body", "protection_concerns", 1),
        ("body", "protection_concerns", 2),
        ("body", "child", "date_of_birth"),
    }
    assert _count(db, Case) == before

    created = client.post(f"{API}/cases", json=case_body(), headers=headers)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    referral = {
        "to_agency_id": str(make_agency(db).id),
        "service_type": "mhpss",
        "urgency": "high",
        "reason": "Nightmares since the return",
        "shared_fields": ["child.given_name", "child.favourite_colour", "child.shoe_size"],
        "consent": {"given_by": "caregiver", "obtained_at": "2026-01-01T10:00:00Z"},
    }
    locs, _ = _problem(
        client.post(f"{API}/cases/{case_id}/referrals", json=referral, headers=headers)
    )
    assert locs == {("body", "shared_fields", 1), ("body", "shared_fields", 2)}


def test_one_bad_field_is_named_alone(client: TestClient, caseworker: dict[str, str]) -> None:
    """The list is exact: a valid field is never named."""
    body = case_body()
    body["risk_level"] = "severe"
    locs, _ = _problem(client.post(f"{API}/cases", json=body, headers=caseworker))
    assert locs == {("body", "risk_level")}
    assert client.get(f"{API}/cases/{uuid.uuid4()}", headers=caseworker).status_code == 404
