"""Names other people see (agencies, API clients, usernames) refuse control and text-direction
characters, through HTTP, with a 422 that names the field; ordinary names in any script pass."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.identity import Agency, ApiClient, User
from services.config import Settings
from services.policy import Role
from tests.factories import API, make_agency, make_user, user_headers

REFUSED = [
    "\u202e",  # right-to-left override
    "\u202a",  # left-to-right embedding
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\u0000",
    "\n",
    "\u001b",
    "\u007f",
    "\u0085",  # next line (C1)
    "\u009b",  # C1 control sequence introducer
]


@pytest.mark.parametrize("bad", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_every_display_name_refuses_control_and_direction_characters(
    client: TestClient, db: Session, settings: Settings, bad: str
) -> None:
    agency = make_agency(db)
    admin = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    before = {
        model: db.scalar(select(func.count()).select_from(model))
        for model in (Agency, ApiClient, User)
    }
    attempts = [
        ("/agencies", {"name": f"Relief{bad}Team"}, "name"),
        (
            "/api-clients",
            {"agency_id": str(agency.id), "name": f"Partner{bad}", "scopes": ["referrals:read"]},
            "name",
        ),
        (
            "/users",
            {
                "username": f"amal{bad}",
                "password": "a perfectly fine passphrase",
                "role": "caseworker",
                "agency_id": str(agency.id),
            },
            "username",
        ),
    ]
    for path, body, field in attempts:
        response = client.post(f"{API}{path}", json=body, headers=admin)
        assert response.status_code == 422, (path, response.text)
        problem = response.json()
        named = [error for error in problem["errors"] if error["loc"] == ["body", field]]
        assert named, problem
        assert f"U+{ord(bad):04X}" in named[0]["msg"]
    after = {
        model: db.scalar(select(func.count()).select_from(model))
        for model in (Agency, ApiClient, User)
    }
    assert after == before


def test_names_in_any_script_are_accepted(
    client: TestClient, db: Session, settings: Settings
) -> None:
    admin = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    for name in ("حماية الطفل", "پاراستنی منداڵان", "Save the Children, Erbil"):
        created = client.post(f"{API}/agencies", json={"name": name}, headers=admin)
        assert created.status_code == 201, created.text
        assert created.json()["name"] == name


def test_the_rule_is_published_in_the_openapi_document(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for schema, field in (
        ("AgencyCreate", "name"),
        ("ApiClientCreate", "name"),
        ("UserCreate", "username"),
    ):
        pattern = schemas[schema]["properties"][field]["pattern"]
        assert "\\u202e" in pattern and "\\u2066" in pattern, schema
