"""Shared arrangements for the referral tests: the cast of `tests.factories` with a case whose
every field carries a marker string, and helpers to drive a referral through its states."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models.identity import User
from services.config import Settings
from services.crypto import Keyring
from tests import factories
from tests.factories import API, World, build_world

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


def world_with_case(db: Session, keyring: Keyring, settings: Settings) -> World:
    """The HTTP tests' cast (`tests.factories.World`) with a case of `owner`'s whose every field
    carries its marker, committed (the referral tests' `world`)."""
    world = build_world(db, settings)
    owner = world.owner.user
    assert owner is not None
    world.case = make_case(db, keyring, settings, owner)
    db.commit()
    return world


# --- driving referrals over HTTP -----------------------------------------------------------


def propose(client: TestClient, world: World, **overrides: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/cases/{world.case_id}/referrals",
        json=referral_body(world.partner_agency.id, **overrides),
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
