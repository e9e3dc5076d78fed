"""`allowed_actions` lists the moves THIS caller may make now, and stale `If-Match` says so.

New-user findings: a caseworker was offered `referral.approve`; a stale `If-Match` on a referral
action answered a vague 409. Each listed action must succeed for that caller, and each action
left out must be refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import API, World
from tests.referrals_support import ACTION_BODIES, act, referral_in

ENDPOINT = {
    "referral.approve": "approve",
    "referral.reject": "reject",
    "referral.accept": "accept",
    "referral.decline": "decline",
    "referral.update": "updates",
    "referral.complete": "complete",
    "referral.cancel": "cancel",
}

EXPECTED: dict[tuple[str, str], list[str]] = {
    ("caseworker", "pending_approval"): ["referral.cancel"],
    ("supervisor", "pending_approval"): ["referral.approve", "referral.cancel", "referral.reject"],
    ("caseworker", "sent"): ["referral.cancel"],
    ("supervisor", "sent"): ["referral.cancel"],
    ("partner", "sent"): ["referral.accept", "referral.decline"],
    ("partner_read", "sent"): [],
    ("caseworker", "accepted"): ["referral.cancel"],
    ("partner", "accepted"): ["referral.complete", "referral.update"],
    ("partner_read", "accepted"): [],
    ("supervisor", "in_progress"): ["referral.cancel"],
    ("partner", "in_progress"): ["referral.complete", "referral.update"],
    ("caseworker", "completed"): [],
    ("partner", "completed"): [],
    ("supervisor", "rejected"): [],
    ("partner", "declined"): [],
}


def _read(client: TestClient, world: World, rid: str, who: str) -> dict[str, Any]:
    response = client.get(f"{API}/referrals/{rid}", headers=world.h[who])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _with_if_match(
    client: TestClient, world: World, rid: str, endpoint: str, who: str, etag: str
) -> Any:
    return client.post(
        f"{API}/referrals/{rid}/{endpoint}",
        json=ACTION_BODIES[endpoint][1],
        headers={**world.h[who], "If-Match": etag},
    )


@pytest.mark.parametrize(("who", "state"), sorted(EXPECTED))
def test_allowed_actions_are_exactly_what_this_caller_may_do_now(
    client: TestClient, world: World, who: str, state: str
) -> None:
    rid = referral_in(client, world, state)
    listed = _read(client, world, rid, who)["allowed_actions"]
    assert listed == EXPECTED[(who, state)]
    # The list agrees with the list endpoint too.
    items = client.get(f"{API}/referrals", headers=world.h[who]).json()["items"]
    assert [i["allowed_actions"] for i in items if i["id"] == rid] == [listed]

    # Every action left out is refused (403 for the role/scope, 409 for the state), and
    # changes nothing; every action listed succeeds on a referral in the same state.
    version = _read(client, world, rid, who)["version"]
    for action, endpoint in ENDPOINT.items():
        if action in listed:
            continue
        refused = act(client, world, rid, endpoint, who, ACTION_BODIES[endpoint][1])
        assert refused.status_code in (403, 409), (action, refused.status_code)
    assert _read(client, world, rid, who)["version"] == version
    for action in listed:
        fresh = referral_in(client, world, state)
        endpoint = ENDPOINT[action]
        done = act(client, world, fresh, endpoint, who, ACTION_BODIES[endpoint][1])
        assert done.status_code == 200, (action, done.text)


def test_a_stale_if_match_on_a_referral_action_says_what_changed(
    client: TestClient, world: World
) -> None:
    rid = referral_in(client, world, "sent")  # version 2
    stale = _with_if_match(client, world, rid, "cancel", "caseworker", '"1"')
    assert stale.status_code == 409
    problem = stale.json()
    assert problem["status"] == 409
    assert "The referral changed since version 1" in problem["detail"]
    assert "now version 2" in problem["detail"]
    assert "read it again" in problem["detail"]
    assert _read(client, world, rid, "caseworker")["status"] == "sent"

    current = _with_if_match(client, world, rid, "cancel", "caseworker", '"2"')
    assert current.status_code == 200, current.text
    assert current.headers["ETag"] == '"3"'


def test_a_stale_if_match_is_409_even_when_the_new_state_refuses_the_action(
    client: TestClient, world: World
) -> None:
    """The stale version is the news the caller needs: it read `sent`, the partner accepted."""
    rid = referral_in(client, world, "accepted")  # version 3
    stale = _with_if_match(client, world, rid, "decline", "partner", '"2"')
    assert stale.status_code == 409
    assert "changed since version 2" in stale.json()["detail"]


def test_openapi_documents_409_on_every_referral_action(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for endpoint in sorted(set(ENDPOINT.values())):
        operation = document["paths"][f"{API}/referrals/{{referral_id}}/{endpoint}"]["post"]
        assert "409" in operation["responses"], endpoint
        assert "changed since" in operation["responses"]["409"]["description"]
        assert "If-Match" in operation["description"]
        assert "409" in operation["description"]
    close = document["paths"][f"{API}/cases/{{case_id}}/close"]["post"]
    assert "case_closed" in close["description"]
