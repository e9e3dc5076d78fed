"""The role x action matrix replayed on restricted cases: every route under `/cases/{case_id}`
(every sub-resource, read or write), its target case restricted after it was built, called by

- the owner (`a.caseworker`): as in the matrix;
- a supervisor of the agency on the case's access list: as `a.supervisor` in the matrix;
- a supervisor of the agency not on the list (`a.supervisor`): 404 wherever the matrix lets a
  supervisor act (403 stays 403: the role check comes first and names no record);
- the same supervisor after breaking the glass (`POST /cases/{id}/break-glass`): as
  `a.supervisor` in the matrix;
- the same supervisor once that access has expired (its expiry moved into the past): 404 again.

(Breaking the glass itself is the one route under a case left out: it is how the access starts,
tested in `test_break_glass.py`.)

New routes under a case join the replay by having a matrix entry.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from models.access import BreakGlassUse, CaseAccess
from models.base import utcnow
from models.cases import Case
from services.config import Settings
from services.identity.tokens import issue_user_token
from services.policy import Role
from services.runtime import Runtime
from tests.api.matrix import OK, Call, Entry, World, build_world, load_entries
from tests.factories import API

BREAK_GLASS = f"{API}/cases/{{case_id}}/break-glass"
CASE_ROUTES = [
    entry
    for entry in load_entries()
    if entry.path.startswith(f"{API}/cases/{{case_id}}") and entry.path != BREAK_GLASS
]


def _send(world: World, entry: Entry, call: Call, headers: dict[str, str]) -> int:
    response = world.http.request(
        entry.method,
        entry.path.format(**{k: str(v) for k, v in call.path.items()}),
        params=call.query,
        json=call.json,
        data=call.form,
        headers={**headers, **call.headers},
    )
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    status: int = response.status_code
    return status


def _restrict(world: World, call: Call) -> uuid.UUID:
    case_id = uuid.UUID(str(call.path["case_id"]))
    world.db.execute(update(Case).where(Case.id == case_id).values(restricted=True))
    world.db.flush()
    return case_id


def _break_glass(world: World, case_id: uuid.UUID) -> None:
    response = world.http.post(
        f"{API}/cases/{case_id}/break-glass",
        json={"reason": "Replay"},
        headers=world.headers["a.supervisor"],
    )
    assert response.status_code == 200, response.text


def _matches(expected: object, status: int) -> bool:
    return 200 <= status < 300 if expected == OK else status == expected


def test_the_replay_covers_every_case_sub_resource() -> None:
    paths = {entry.path.removeprefix(f"{API}/cases/{{case_id}}") for entry in CASE_ROUTES}
    for sub in ("", "/notes", "/referrals", "/assessments", "/plan", "/services"):
        assert sub in paths
    for sub in ("/follow-ups", "/timeline", "/matches", "/access-log", "/access-list"):
        assert sub in paths


@pytest.mark.parametrize("entry", CASE_ROUTES, ids=lambda e: f"{e.method} {e.path}")
def test_restricted_case_replay(
    entry: Entry, db: Session, settings: Settings, runtime: Runtime, client: TestClient
) -> None:
    world = build_world(db, settings, runtime, client)
    listed = world.new_user("a", Role.SUPERVISOR)
    listed_headers = {
        "Authorization": f"Bearer {issue_user_token(db, listed, settings).value}",
    }
    as_supervisor = entry.expect["a.supervisor"]
    hidden = 403 if as_supervisor == 403 else 404
    viewpoints: list[tuple[str, str, dict[str, str], object]] = [
        ("owner", "a.caseworker", world.headers["a.caseworker"], entry.expect["a.caseworker"]),
        ("listed supervisor", "a.supervisor", listed_headers, entry.expect["a.supervisor"]),
        ("unlisted supervisor", "a.supervisor", world.headers["a.supervisor"], hidden),
        ("after break-glass", "a.supervisor", world.headers["a.supervisor"], as_supervisor),
        ("after expiry", "a.supervisor", world.headers["a.supervisor"], hidden),
    ]
    mismatches = []
    for name, as_who, headers, expected in viewpoints:
        call = entry.build(world, as_who)
        case_id = _restrict(world, call)
        if name == "listed supervisor":
            owner = world.users["a.caseworker"]
            db.add(CaseAccess(case_id=case_id, user_id=listed.id, added_by=owner.id))
            db.flush()
        if name.startswith("after"):
            _break_glass(world, case_id)
        if name == "after expiry":
            db.execute(
                update(BreakGlassUse)
                .where(BreakGlassUse.case_id == case_id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
            db.flush()
        status = _send(world, entry, call, headers)
        if not _matches(expected, status):
            mismatches.append(f"{name}: expected {expected}, got {status}")
    assert not mismatches, f"{entry.method} {entry.path}\n  " + "\n  ".join(mismatches)
