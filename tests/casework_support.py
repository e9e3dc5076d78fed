"""Helpers for tests that need casework records (no tests here): bodies for an assessment, a
plan and a follow-up, and walking a case through the stage gates, either through the services
(matrix targets) or over HTTP (API tests).

The gates: `assessment → case_plan` needs an assessment; `case_plan → implementation` needs an
approved plan. `walk_*` records just enough to pass them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.cases.workflow import move_stage
from services.casework.assessments import record_assessment
from services.casework.plans import approve_plan, put_plan
from services.closing import close_case
from services.config import Settings
from services.crypto import Keyring
from services.policy import Principal
from tests.factories import API

STAGE_PATH = ("assessment", "case_plan", "implementation", "follow_up", "closure")
NEED = "psychosocial_support"


def today() -> date:
    return datetime.now(UTC).date()


def assessment_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "initial",
        "completed_on": today().isoformat(),
        "domains": [
            {
                "domain": "psychosocial",
                "severity": "high",
                "needs": [NEED],
                "observations": "Nightmares since return.",
            }
        ],
        "child_views": "Wants to go back to school.",
    }
    body.update(changes)
    return body


def plan_body(**changes: Any) -> dict[str, Any]:
    day = today()
    body: dict[str, Any] = {
        "goals": [
            {
                "need": NEED,
                "description": "Sleeps through the night.",
                "actions": [
                    {
                        "description": "Group sessions with the psychosocial partner.",
                        "responsible": "partner",
                        "service_type": "mhpss",
                        "due_on": (day + timedelta(days=14)).isoformat(),
                        "status": "planned",
                    }
                ],
            }
        ],
        "review_due_on": (day + timedelta(days=28)).isoformat(),
    }
    body.update(changes)
    return body


def follow_up_body(**changes: Any) -> dict[str, Any]:
    day = today()
    body: dict[str, Any] = {
        "happened_on": day.isoformat(),
        "mode": "home_visit",
        "observations": "Sleeping better.",
        "wellbeing": "improved",
        "next_due_on": (day + timedelta(days=7)).isoformat(),
    }
    body.update(changes)
    return body


CLOSE_BODY = {"reason": "goals_met"}


# --- through the services (matrix targets) --------------------------------------------------


def walk_services(
    db: Session,
    keyring: Keyring,
    settings: Settings,
    owner: Principal,
    supervisor: Principal,
    case_id: uuid.UUID,
    to: str,
) -> None:
    """Move a fresh case (in `registration`) up to stage `to`, recording what the gates need."""
    for stage in STAGE_PATH[: STAGE_PATH.index(to) + 1]:
        if stage == "case_plan":
            record_assessment(db, keyring, settings, owner, case_id, assessment_body())
        if stage == "implementation":
            put_plan(db, keyring, settings, owner, case_id, plan_body())
            approve_plan(db, keyring, supervisor, case_id)
        move_stage(db, keyring, settings, owner, case_id, stage)


def close_services(
    db: Session, keyring: Keyring, settings: Settings, supervisor: Principal, case_id: uuid.UUID
) -> None:
    close_case(db, keyring, settings, supervisor, case_id, reason="goals_met")


# --- over HTTP ------------------------------------------------------------------------------


def record_assessment_http(
    client: TestClient, headers: dict[str, str], case_id: str, **changes: Any
) -> dict[str, Any]:
    response = client.post(
        f"{API}/cases/{case_id}/assessments", json=assessment_body(**changes), headers=headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def approved_plan_http(
    client: TestClient,
    owner: dict[str, str],
    supervisor: dict[str, str],
    case_id: str,
) -> dict[str, Any]:
    url = f"{API}/cases/{case_id}/plan"
    current = client.get(url, headers=owner)
    headers = dict(owner)
    if current.status_code == 200:
        headers["If-Match"] = current.headers["etag"]
    written = client.put(url, json=plan_body(), headers=headers)
    assert written.status_code == 200, written.text
    if written.json()["status"] == "approved":
        result: dict[str, Any] = written.json()
        return result
    approved = client.post(f"{url}/approve", headers=supervisor)
    assert approved.status_code == 200, approved.text
    result = approved.json()
    return result


def walk_http(
    client: TestClient,
    owner: dict[str, str],
    supervisor: dict[str, str],
    case_id: str,
    to: str = "closure",
    *,
    mover: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Move a fresh case up to stage `to` over HTTP (as `mover`, default the owner), recording
    an assessment and an approved plan on the way; returns the last case body."""
    moved: dict[str, Any] = {}
    for stage in STAGE_PATH[: STAGE_PATH.index(to) + 1]:
        if stage == "case_plan":
            record_assessment_http(client, owner, case_id)
        if stage == "implementation":
            approved_plan_http(client, owner, supervisor, case_id)
        response = client.post(
            f"{API}/cases/{case_id}/stage", json={"to": stage}, headers=mover or owner
        )
        assert response.status_code == 200, response.text
        moved = response.json()
    return moved
