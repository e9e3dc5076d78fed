"""Matrix entries: referrals.

Targets: a case of agency `a` owned by `a.caseworker`, referred to agency `b`; so `b.client`
(`referrals:respond`) is the receiving partner, `b.client_read` may only read, and `a.client`
belongs to the referring agency, to which nothing was sent (404 once its scope allows trying).
Every principal meets a fresh case and referral, in the state the action needs.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from models.base import utcnow
from services.cases.intake import create_case
from services.policy import Action, Principal
from services.referrals import service as referrals
from tests.api.matrix import Call, Entry, World, expect
from tests.factories import API, client_principal, principal_of
from tests.referrals_support import case_body, referral_body

P = API

CASE_STAFF_A = ("a.caseworker", "a.supervisor")
OUTSIDERS_STAFF = ("a.caseworker2", "b.caseworker", "b.caseworker2", "b.supervisor")
"""Staff whose role may act on referrals but who may not see this case: 404."""
READ_CLIENTS = ("a.client", "a.client_read", "b.client", "b.client_read")


def _caseworker(world: World) -> Principal:
    return principal_of(world.users["a.caseworker"])


def _supervisor(world: World) -> Principal:
    return principal_of(world.users["a.supervisor"])


def _partner(world: World) -> Principal:
    return client_principal(world.clients["b.client"])


def _case(world: World) -> uuid.UUID:
    view = create_case(
        world.db, world.runtime.keyring, world.settings, _caseworker(world), case_body()
    )
    return view.case.id


def _referral(world: World, state: str) -> uuid.UUID:
    keyring, settings = world.runtime.keyring, world.settings
    case_id = _case(world)
    body = referral_body(world.agencies["b"].id)
    created = referrals.create_referral(
        world.db,
        keyring,
        _caseworker(world),
        case_id,
        referrals.NewReferral(
            to_agency_id=world.agencies["b"].id,
            service_type=body["service_type"],
            urgency=body["urgency"],
            reason=body["reason"],
            shared_fields=body["shared_fields"],
            consent_given_by="caregiver",
            consent_obtained_at=utcnow() - timedelta(days=1),
        ),
    )
    rid = created.referral.id
    steps: dict[str, list[tuple[Principal, Action]]] = {
        "pending_approval": [],
        "sent": [(_supervisor(world), Action.REFERRAL_APPROVE)],
        "accepted": [
            (_supervisor(world), Action.REFERRAL_APPROVE),
            (_partner(world), Action.REFERRAL_ACCEPT),
        ],
    }
    for principal, action in steps[state]:
        referrals.act(world.db, keyring, settings, principal, rid, action)
    world.db.flush()
    return rid


def _on_referral(state: str, body: dict[str, Any] | None = None) -> Any:
    def build(world: World, who: str) -> Call:
        return Call(path={"referral_id": _referral(world, state)}, json=body)

    return build


def _on_case(world: World, who: str) -> Call:
    return Call(path={"case_id": _case(world)})


def _create(world: World, who: str) -> Call:
    return Call(path={"case_id": _case(world)}, json=referral_body(world.agencies["b"].id))


STAFF_LIST_OK = (*CASE_STAFF_A, *OUTSIDERS_STAFF)
PARTNER_RESPOND: dict[str, Any] = {"ok": ("b.client",), "not_found": ("a.client",)}
SUPERVISOR_DECIDES: dict[str, Any] = {"ok": ("a.supervisor",), "not_found": ("b.supervisor",)}

ENTRIES = [
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/referrals",
        _create,
        expect(ok=("a.caseworker",), not_found=("a.caseworker2", "b.caseworker", "b.caseworker2")),
        note="only caseworkers propose; supervisors approve instead",
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/referrals",
        _on_case,
        expect(ok=CASE_STAFF_A, not_found=(*OUTSIDERS_STAFF, *READ_CLIENTS)),
        note="clients may list referrals but never see a case: 404",
    ),
    Entry(
        "GET",
        f"{P}/referrals",
        lambda world, who: Call(),
        expect(ok=(*STAFF_LIST_OK, *READ_CLIENTS)),
    ),
    Entry(
        "GET",
        f"{P}/referrals/{{referral_id}}",
        _on_referral("sent"),
        expect(
            ok=(*CASE_STAFF_A, "b.client", "b.client_read"),
            not_found=(*OUTSIDERS_STAFF, "a.client", "a.client_read"),
        ),
    ),
    Entry(
        "POST",
        f"{P}/referrals/{{referral_id}}/approve",
        _on_referral("pending_approval"),
        expect(**SUPERVISOR_DECIDES),
        note="a caseworker never approves, not even its own",
    ),
    Entry(
        "POST",
        f"{P}/referrals/{{referral_id}}/reject",
        _on_referral("pending_approval", {"reason": "Not the right service"}),
        expect(**SUPERVISOR_DECIDES),
    ),
    Entry(
        "POST",
        f"{P}/referrals/{{referral_id}}/accept",
        _on_referral("sent"),
        expect(**PARTNER_RESPOND),
    ),
    Entry(
        "POST",
        f"{P}/referrals/{{referral_id}}/decline",
        _on_referral("sent", {"reason": "No capacity"}),
        expect(**PARTNER_RESPOND),
    ),
    Entry(
        "POST",
        f"{P}/referrals/{{referral_id}}/updates",
        _on_referral("accepted", {"note": "First session held"}),
        expect(**PARTNER_RESPOND),
    ),
    Entry(
        "POST",
        f"{P}/referrals/{{referral_id}}/complete",
        _on_referral("accepted", {"outcome": "Done"}),
        expect(**PARTNER_RESPOND),
    ),
    Entry(
        "POST",
        f"{P}/referrals/{{referral_id}}/cancel",
        _on_referral("sent", {"reason": "consent_withdrawn"}),
        expect(ok=CASE_STAFF_A, not_found=OUTSIDERS_STAFF),
        note="partners decline; only the referring side cancels",
    ),
]
