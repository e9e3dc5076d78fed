"""Shared helpers for the case API tests (no tests here): a small world of agencies, users and
tokens, intake bodies, and shortcuts for the calls every test makes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models.identity import Agency, User
from services.config import Settings
from services.policy import Role
from tests.factories import (
    API,
    case_body,
    client_headers,
    make_agency,
    make_api_client,
    make_user,
    user_headers,
)


def body(
    given: str = "Amal", family: str = "Hassan", dob: str | None = "2014-03-09", **top: Any
) -> dict[str, Any]:
    child: dict[str, Any] = {"given_name": given, "family_name": family, "sex": "female"}
    if dob is None:
        child["estimated_age"] = 10
    else:
        child["date_of_birth"] = dob
    return case_body(child=child, **top)


@dataclass
class Actor:
    user: User | None
    headers: dict[str, str]

    @property
    def id(self) -> uuid.UUID:
        assert self.user is not None
        return self.user.id


@dataclass
class World:
    agency: Agency
    other_agency: Agency
    owner: Actor
    colleague: Actor
    supervisor: Actor
    other_supervisor: Actor
    other_caseworker: Actor
    system_admin: Actor
    agency_admin: Actor
    auditor: Actor
    partner: Actor
    partner_respond_only: Actor


def build_world(session: Session, settings: Settings) -> World:
    agency = make_agency(session)
    other = make_agency(session)

    def user(agency: Agency, role: Role, **kw: Any) -> Actor:
        u = make_user(session, agency, role, **kw)
        return Actor(u, user_headers(session, u, settings))

    partner_agency = make_agency(session)
    partner = make_api_client(session, partner_agency)
    responder = make_api_client(session, partner_agency, frozenset({"referrals:respond"}))
    return World(
        agency=agency,
        other_agency=other,
        owner=user(agency, Role.CASEWORKER),
        colleague=user(agency, Role.CASEWORKER),
        supervisor=user(agency, Role.SUPERVISOR),
        other_supervisor=user(other, Role.SUPERVISOR),
        other_caseworker=user(other, Role.CASEWORKER),
        system_admin=user(agency, Role.SYSTEM_ADMIN),
        agency_admin=user(agency, Role.AGENCY_ADMIN),
        auditor=user(agency, Role.AUDITOR),
        partner=Actor(None, client_headers(session, partner, settings)),
        partner_respond_only=Actor(None, client_headers(session, responder, settings)),
    )


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    return build_world(db, settings)


def create(
    client: TestClient,
    actor: Actor,
    data: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    expect: int = 201,
) -> dict[str, Any]:
    headers = dict(actor.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post(
        f"{API}/cases", json=data if data is not None else body(), headers=headers
    )
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


def etag(version: int) -> str:
    return f'"{version}"'


def patch(client: TestClient, actor: Actor, case: dict[str, Any], changes: dict[str, Any]) -> Any:
    return client.patch(
        f"{API}/cases/{case['id']}",
        json=changes,
        headers={**actor.headers, "If-Match": etag(case["version"])},
    )


def search(client: TestClient, actor: Actor, **params: Any) -> list[str]:
    response = client.get(f"{API}/cases", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]
