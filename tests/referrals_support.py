"""Shared arrangements for the referral tests: two agencies' staff, partner clients, a case whose
every field carries a marker string, and helpers to drive a referral through its states."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models.identity import Agency, ApiClient, User
from services.config import Settings
from services.crypto import Keyring
from services.policy import Role
from tests import factories
from tests.factories import (
    API,
    client_headers,
    make_agency,
    make_api_client,
    make_user,
    user_headers,
)

# Every free-text value of the case carries a marker; none may reach a partner unless shared.
MARKERS = {
    "child.given_name": "MKgiven",
    "child.family_name": "MKfamily",
    "child.date_of_birth": "2014-03-17",
    "location.governorate": "MKgovernorate",
    "location.district": "MKdistrict",
    "location.address": "MKaddress",
    "caregivers": "MKcaregiver",
    "narrative": "MKnarrative",
    "protection_concerns": "trafficking",
}
CAREGIVER_PHONE = "+9647700000917"
REASON = "MKreason needs specialised care"
CONSENT_NOTE = "MKconsentnote"
ALL_MARKERS = [*MARKERS.values(), CAREGIVER_PHONE]


MARKED_CASE: dict[str, Any] = {
    "child": {
        "given_name": MARKERS["child.given_name"],
        "family_name": MARKERS["child.family_name"],
        "sex": "female",
        "date_of_birth": MARKERS["child.date_of_birth"],
    },
    "location": {
        "governorate": MARKERS["location.governorate"],
        "district": MARKERS["location.district"],
        "address": MARKERS["location.address"],
    },
    "caregivers": [
        {"name": MARKERS["caregivers"], "relationship": "aunt", "phone": CAREGIVER_PHONE}
    ],
    "separation_status": "separated",
    "protection_concerns": ["caafag", MARKERS["protection_concerns"]],
    "risk_level": "high",
    "narrative": MARKERS["narrative"],
}


def case_body(**overrides: Any) -> dict[str, Any]:
    """An intake body whose every free-text field carries its marker."""
    return factories.case_body(**{**MARKED_CASE, **overrides})


def make_case(
    db: Session, keyring: Keyring, settings: Settings, owner: User, **overrides: Any
) -> uuid.UUID:
    return factories.make_case(db, keyring, settings, owner, case_body(**overrides))


def referral_body(to_agency_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to_agency_id": str(to_agency_id),
        "service_type": "mhpss",
        "urgency": "high",
        "reason": REASON,
        "shared_fields": ["child.given_name", "location.district"],
        "consent": {
            "given_by": "caregiver",
            "obtained_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "note": CONSENT_NOTE,
        },
    }
    body.update(overrides)
    return body


@dataclass
class World:
    """Agency A refers; B and C are partner agencies (API clients only)."""

    home: Agency
    partner: Agency
    other_partner: Agency
    caseworker: User
    other_caseworker: User
    supervisor: User
    other_agency_supervisor: User
    partner_client: ApiClient
    partner_read_only: ApiClient
    other_client: ApiClient
    case_id: uuid.UUID
    h: dict[str, dict[str, str]] = field(default_factory=dict)
    """Headers by name: caseworker, other_caseworker, supervisor, admin, auditor,
    other_supervisor, partner, partner_read, other_partner."""


def build_world(db: Session, keyring: Keyring, settings: Settings) -> World:
    home = make_agency(db)
    partner = make_agency(db)
    other = make_agency(db)
    caseworker = make_user(db, home, Role.CASEWORKER)
    other_caseworker = make_user(db, home, Role.CASEWORKER)
    supervisor = make_user(db, home, Role.SUPERVISOR)
    admin = make_user(db, home, Role.AGENCY_ADMIN)
    auditor = make_user(db, home, Role.AUDITOR)
    partner_supervisor = make_user(db, partner, Role.SUPERVISOR)
    partner_client = make_api_client(db, partner)
    partner_read_only = make_api_client(db, partner, frozenset({"referrals:read"}))
    other_client = make_api_client(db, other)
    case_id = make_case(db, keyring, settings, caseworker)
    world = World(
        home=home,
        partner=partner,
        other_partner=other,
        caseworker=caseworker,
        other_caseworker=other_caseworker,
        supervisor=supervisor,
        other_agency_supervisor=partner_supervisor,
        partner_client=partner_client,
        partner_read_only=partner_read_only,
        other_client=other_client,
        case_id=case_id,
    )
    world.h = {
        "caseworker": user_headers(db, caseworker, settings),
        "other_caseworker": user_headers(db, other_caseworker, settings),
        "supervisor": user_headers(db, supervisor, settings),
        "admin": user_headers(db, admin, settings),
        "auditor": user_headers(db, auditor, settings),
        "other_supervisor": user_headers(db, partner_supervisor, settings),
        "partner": client_headers(db, partner_client, settings),
        "partner_read": client_headers(db, partner_read_only, settings),
        "other_partner": client_headers(db, other_client, settings),
    }
    db.commit()
    return world


# --- driving referrals over HTTP -----------------------------------------------------------


def propose(client: TestClient, world: World, **overrides: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/cases/{world.case_id}/referrals",
        json=referral_body(world.partner.id, **overrides),
        headers=world.h["caseworker"],
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def act(
    client: TestClient,
    world: World,
    referral_id: str,
    action: str,
    who: str,
    body: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    return client.post(
        f"{API}/referrals/{referral_id}/{action}", json=body, headers=world.h[who], **kwargs
    )


ACTION_BODIES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "approve": ("supervisor", None),
    "reject": ("supervisor", {"reason": "MKrejection"}),
    "accept": ("partner", None),
    "decline": ("partner", {"reason": "MKdecline"}),
    "updates": ("partner", {"note": "MKupdate progress"}),
    "complete": ("partner", {"outcome": "MKoutcome"}),
    "cancel": ("caseworker", {"reason": "MKcancel"}),
}
"""Each endpoint action, by whom it is legitimately made, with a body."""

PATH_TO_STATE: dict[str, list[str]] = {
    "pending_approval": [],
    "sent": ["approve"],
    "rejected": ["reject"],
    "accepted": ["approve", "accept"],
    "declined": ["approve", "decline"],
    "in_progress": ["approve", "accept", "updates"],
    "completed": ["approve", "accept", "complete"],
    "cancelled": ["approve", "cancel"],
}
"""`cancelled` is reached after sending (the partner knew it); cancelling a pending one is also
legal, and then the partner never sees it."""


def drive(client: TestClient, world: World, referral_id: str, state: str) -> dict[str, Any]:
    """Move a fresh referral to `state` through the legitimate actors; the last response body."""
    body: dict[str, Any] = {}
    for action in PATH_TO_STATE[state]:
        who, payload = ACTION_BODIES[action]
        response = act(client, world, referral_id, action, who, payload)
        assert response.status_code == 200, (action, response.text)
        body = response.json()
    return body


def referral_in(client: TestClient, world: World, state: str, **overrides: Any) -> str:
    referral_id: str = propose(client, world, **overrides)["id"]
    drive(client, world, referral_id, state)
    return referral_id
