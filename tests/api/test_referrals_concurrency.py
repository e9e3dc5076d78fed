"""Concurrent moves on one referral, with real commits: exactly one wins, the other is 409."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from models.audit import AuditEvent
from models.referrals import Referral, ReferralUpdate
from services.runtime import Runtime
from tests.casework_support import CLOSE_BODY, walk_http
from tests.factories import API, World
from tests.referrals_support import case_body, referral_body, world_with_case

ROUNDS = 3


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _sent_referral(http: TestClient, world: World) -> str:
    created = http.post(
        f"{API}/cases/{world.case_id}/referrals",
        json=referral_body(world.partner_agency.id),
        headers=world.h["caseworker"],
    )
    assert created.status_code == 201, created.text
    rid: str = created.json()["id"]
    approved = http.post(f"{API}/referrals/{rid}/approve", headers=world.h["supervisor"])
    assert approved.status_code == 200, approved.text
    return rid


def test_concurrent_accept_and_cancel_exactly_one_wins(fresh_runtime: Runtime) -> None:
    with fresh_runtime.session_factory() as session:
        world = world_with_case(session, fresh_runtime.keyring, fresh_runtime.settings)
    app = create_app(runtime=fresh_runtime)
    with TestClient(app) as http, TestClient(app) as other:
        for _ in range(ROUNDS):
            rid = _sent_referral(http, world)
            # Both saw version 2 (sent) and act on it.
            accept_headers = {**world.h["partner"], "If-Match": '"2"'}
            cancel_headers = {**world.h["caseworker"], "If-Match": '"2"'}
            accepted, cancelled = _race(
                [
                    partial(http.post, f"{API}/referrals/{rid}/accept", headers=accept_headers),
                    partial(
                        other.post,
                        f"{API}/referrals/{rid}/cancel",
                        json={"reason": "consent_withdrawn"},
                        headers=cancel_headers,
                    ),
                ]
            )
            codes = sorted([accepted.status_code, cancelled.status_code])
            assert codes == [200, 409], (accepted.text, cancelled.text)
            winner = "accepted" if accepted.status_code == 200 else "cancelled"
            with fresh_runtime.session_factory() as session:
                row = session.get(Referral, uuid.UUID(rid))
                assert row is not None
                assert row.status == winner
                assert row.version == 3
                assert (row.consent_withdrawn_at is not None) == (winner == "cancelled")
                assert (row.responded_at is not None) == (winner == "accepted")


def test_concurrent_accept_and_decline_without_if_match_exactly_one_wins(
    fresh_runtime: Runtime,
) -> None:
    with fresh_runtime.session_factory() as session:
        world = world_with_case(session, fresh_runtime.keyring, fresh_runtime.settings)
    app = create_app(runtime=fresh_runtime)
    with TestClient(app) as http, TestClient(app) as other:
        for _ in range(ROUNDS):
            rid = _sent_referral(http, world)
            accepted, declined = _race(
                [
                    partial(http.post, f"{API}/referrals/{rid}/accept", headers=world.h["partner"]),
                    partial(
                        other.post,
                        f"{API}/referrals/{rid}/decline",
                        json={"reason": "No capacity"},
                        headers=world.h["partner"],
                    ),
                ]
            )
            assert sorted([accepted.status_code, declined.status_code]) == [200, 409]
    # Every winning move and its audit row were committed together; the chain holds them all.
    with fresh_runtime.session_factory() as session:
        moves = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action.in_(["referral.accept", "referral.decline"]),
                AuditEvent.outcome == "success",
            )
        )
        assert moves == ROUNDS


def _accepted_referral_of_a_case_in_closure(http: TestClient, world: World) -> tuple[str, str]:
    made = http.post(f"{API}/cases", json=case_body(), headers=world.h["caseworker"])
    assert made.status_code == 201, made.text
    case_id: str = made.json()["id"]
    created = http.post(
        f"{API}/cases/{case_id}/referrals",
        json=referral_body(world.partner_agency.id),
        headers=world.h["caseworker"],
    )
    assert created.status_code == 201, created.text
    rid: str = created.json()["id"]
    for action, who in (("approve", "supervisor"), ("accept", "partner")):
        moved = http.post(f"{API}/referrals/{rid}/{action}", headers=world.h[who])
        assert moved.status_code == 200, moved.text
    walk_http(http, world.h["caseworker"], world.h["supervisor"], str(case_id))
    return case_id, rid


def test_closing_a_case_while_the_partner_acts_leaves_no_live_referral(
    fresh_runtime: Runtime,
) -> None:
    """H1 under concurrency: whichever commits first, the case ends closed, its referral
    cancelled, and no partner move lands after the closure."""
    with fresh_runtime.session_factory() as session:
        world = world_with_case(session, fresh_runtime.keyring, fresh_runtime.settings)
    app = create_app(runtime=fresh_runtime)
    with TestClient(app) as http, TestClient(app) as other:
        for _ in range(ROUNDS):
            case_id, rid = _accepted_referral_of_a_case_in_closure(http, world)
            closed, updated = _race(
                [
                    partial(
                        http.post,
                        f"{API}/cases/{case_id}/close",
                        json=CLOSE_BODY,
                        headers=world.h["supervisor"],
                    ),
                    partial(
                        other.post,
                        f"{API}/referrals/{rid}/updates",
                        json={"note": "first session held"},
                        headers=world.h["partner"],
                    ),
                ]
            )
            assert closed.status_code == 200, closed.text
            assert updated.status_code in (200, 409), updated.text
            with fresh_runtime.session_factory() as session:
                row = session.get(Referral, uuid.UUID(rid))
                assert row is not None
                assert row.status == "cancelled"
                assert row.cancelled_by == world.supervisor.id
                notes = session.scalar(
                    select(func.count())
                    .select_from(ReferralUpdate)
                    .where(ReferralUpdate.referral_id == row.id)
                )
                assert notes == (1 if updated.status_code == 200 else 0)
                # The version tells the order: accepted (3), the update if it won (4), cancel.
                assert row.version == (5 if updated.status_code == 200 else 4)
            seen = http.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).json()
            assert seen["case"] is None and seen["allowed_actions"] == []
