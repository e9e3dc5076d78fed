"""The role x action matrix (see `tests/api/matrix/__init__.py` for the format).

1. Every `/api/v1` route has exactly one entry, and every entry names a real route: a new
   endpoint without a decision in the matrix fails here, listing what is missing.
2. Every entry runs for every principal of the world; a mismatch lists each principal with the
   status it expected and got. Refusals must be problem+json.
"""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.config import Settings
from services.runtime import Runtime
from tests.api.matrix import OK, PRINCIPALS, Entry, api_routes, build_world, load_entries
from tests.factories import API

ENTRIES = load_entries()


def test_every_api_route_has_exactly_one_matrix_entry(app: FastAPI) -> None:
    routes = api_routes(app)
    declared = Counter(entry.route for entry in ENTRIES)
    missing = sorted(routes - set(declared))
    stale = sorted(set(declared) - routes)
    duplicated = sorted(route for route, count in declared.items() if count > 1)
    problems = []
    if missing:
        problems.append(
            "routes without a matrix entry (add them to tests/api/matrix/<area>.py):\n"
            + "\n".join(f"  {method} {path}" for method, path in missing)
        )
    if stale:
        problems.append(
            "matrix entries naming no route:\n"
            + "\n".join(f"  {method} {path}" for method, path in stale)
        )
    if duplicated:
        problems.append("routes with several entries: " + ", ".join(map(str, duplicated)))
    assert not problems, "\n".join(problems)


def test_every_entry_covers_every_principal() -> None:
    incomplete = [
        f"{entry.method} {entry.path}: {sorted(set(PRINCIPALS) - set(entry.expect))}"
        for entry in ENTRIES
        if set(entry.expect) != set(PRINCIPALS)
    ]
    assert incomplete == []


def _matches(expected: object, status: int) -> bool:
    return 200 <= status < 300 if expected == OK else status == expected


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.method} {e.path}")
def test_role_matrix(
    entry: Entry, db: Session, settings: Settings, runtime: Runtime, client: TestClient
) -> None:
    world = build_world(db, settings, runtime, client)
    mismatches = []
    for who in PRINCIPALS:
        call = entry.build(world, who)
        response = client.request(
            entry.method,
            entry.path.format(**{k: str(v) for k, v in call.path.items()}),
            params=call.query,
            json=call.json,
            data=call.form,
            headers={**world.headers[who], **call.headers},
        )
        expected = entry.expect[who]
        if not _matches(expected, response.status_code):
            detail = ""
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                detail = f" ({response.json().get('detail')})"
            mismatches.append(f"{who}: expected {expected}, got {response.status_code}{detail}")
        elif response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", who
    assert not mismatches, f"{entry.method} {entry.path}\n  " + "\n  ".join(mismatches)


def test_every_api_route_commits_through_the_transactional_route(app: FastAPI) -> None:
    """A route built with the plain APIRoute would never commit its session (lost writes, no
    audit rows): each router must be `APIRouter(route_class=TransactionalRoute)`."""
    from fastapi.routing import APIRoute, iter_route_contexts

    from api.routing import TransactionalRoute

    plain = sorted(
        f"{sorted(route.methods or ())} {route.path}"
        for route in iter_route_contexts(app.routes)
        if (route.path or "").startswith(API)
        and isinstance(route.original_route, APIRoute)
        and not isinstance(route.original_route, TransactionalRoute)
    )
    assert plain == []
