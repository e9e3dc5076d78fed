"""Every `/api/v1` route writes the audit log: a successful call leaves a `success` event (except
the few reads that touch nothing recorded, listed in `NOT_AUDITED_ON_SUCCESS`), and every refused
call (401/403/404) leaves a `denied` event, even though the request's own transaction was rolled
back. Driven by the role matrix (`tests/api/matrix`), so a new route is covered as soon as it has
its matrix entry."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from services.config import Settings
from services.identity.tokens import issue_client_token, issue_user_token
from services.runtime import Runtime
from tests.api.matrix import (
    OK,
    PRINCIPALS,
    RESTRICTED,
    Entry,
    World,
    build_world,
    load_entries,
)
from tests.factories import API

NOT_AUDITED_ON_SUCCESS = {
    ("GET", f"{API}/auth/me"): "the caller's own identity: no record is read",
    ("GET", f"{API}/reference/concerns"): "public reference data",
    ("GET", f"{API}/reference/needs"): "public reference data",
    ("GET", f"{API}/reference/services"): "public reference data",
    ("GET", f"{API}/reference/closure-reasons"): "public reference data",
}


def _fresh_token(world: World, who: str) -> None:
    """An earlier entry may have revoked the principal's token (logout, deactivation...)."""
    if who == RESTRICTED:
        return
    user, client = world.users.get(who), world.clients.get(who)
    if user is not None:
        value = issue_user_token(world.db, user, world.settings).value
    elif client is not None:
        value = issue_client_token(
            world.db, client, frozenset(client.scopes.split()), world.settings
        ).value
    else:
        return
    world.headers[who] = {"Authorization": f"Bearer {value}"}


def _call(world: World, entry: Entry, who: str) -> int:
    _fresh_token(world, who)
    call = entry.build(world, who)
    response = world.http.request(
        entry.method,
        entry.path.format(**{k: str(v) for k, v in call.path.items()}),
        params=call.query,
        json=call.json,
        data=call.form,
        headers={**world.headers[who], **call.headers},
    )
    status: int = response.status_code
    return status


def _new_events(db: Session, after: int) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.seq > after)))


def _head(db: Session) -> int:
    return int(db.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def test_every_route_records_its_successes_and_its_refusals(
    db: Session, settings: Settings, runtime: Runtime, client: TestClient
) -> None:
    world = build_world(db, settings, runtime, client)
    problems: list[str] = []
    checked = {"success": 0, "denied": 0}
    entries = load_entries()
    for entry in entries:
        allowed = [who for who in PRINCIPALS if entry.expect[who] == OK]
        refused = [who for who in PRINCIPALS if entry.expect[who] in (403, 404)]
        for who, outcome in ((allowed[:1], "success"), (refused[:1], "denied")):
            if not who:
                continue
            principal = who[0]
            head = _head(db)
            status = _call(world, entry, principal)
            events = _new_events(db, head)
            if (outcome == "success") != (200 <= status < 300):
                continue  # not the answer the matrix expects: test_role_matrix reports it
            mine = [e for e in events if e.outcome == outcome]
            if outcome == "success" and entry.route in NOT_AUDITED_ON_SUCCESS:
                continue
            checked[outcome] += 1
            if not mine:
                problems.append(
                    f"{entry.method} {entry.path} as {principal} ({status}): "
                    f"no {outcome} event (new: {[(e.action, e.outcome) for e in events]})"
                )
    assert problems == [], "\n".join(problems)
    # Nearly every route was exercised both ways (a few have no refused or no allowed principal).
    assert checked["success"] >= len(entries) - len(NOT_AUDITED_ON_SUCCESS) - 5, checked
    assert checked["denied"] >= len(entries) - 5, checked
