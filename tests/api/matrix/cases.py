"""Matrix entries: cases, their workflow and notes, and the reference list.

Targets: a fresh case of agency `a` owned by `a.caseworker` for every principal (moved to the
`closure` stage, or closed, where the action needs it). Visibility: `a.caseworker` (owner) and
`a.supervisor` see it; `a.caseworker2` (same-agency colleague), `b.caseworker`, `b.caseworker2`
and `b.supervisor` may act on cases but not on this one: 404. Admins, auditors, partner clients
and the restricted token may never touch case content: 403.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.cases.intake import create_case
from tests.api.matrix import STAFF, Call, Entry, World, expect, keys
from tests.casework_support import CLOSE_BODY, close_services, walk_services
from tests.factories import API, OMIT, case_body, principal_of

P = API

OWNER_SIDE = ("a.caseworker", "a.supervisor")
NOT_VISIBLE = ("a.caseworker2", "b.caseworker", "b.caseworker2", "b.supervisor")
CASEWORKERS = keys("a", "b", roles=("caseworker", "caseworker2"))
CASE_STAFF = keys("a", "b", roles=("caseworker", "caseworker2", "supervisor"))
READ_CLIENTS = keys("a", "b", roles=("client", "client_read"))
SUPERVISOR_ONLY: dict[str, Any] = {"ok": ("a.supervisor",), "not_found": ("b.supervisor",)}

BODY: dict[str, Any] = case_body(
    child={"given_name": "Matrix", "family_name": "Child", "sex": "unknown"},
    location={"governorate": "Duhok", "district": "Zakho"},
    caregivers=[],
    separation_status="unknown",
    protection_concerns=[],
    risk_level="medium",
    narrative=OMIT,
)


def _case(world: World, state: str = "open") -> uuid.UUID:
    """A fresh case of `a.caseworker`: `open` (registration), or walked to the `closure`
    stage (with the assessment and approved plan its gates need), or `closed`."""
    owner = principal_of(world.users["a.caseworker"])
    supervisor = principal_of(world.users["a.supervisor"])
    keyring, settings = world.runtime.keyring, world.settings
    case_id = create_case(world.db, keyring, settings, owner, BODY).case.id
    if state in ("closure", "closed"):
        walk_services(world.db, keyring, settings, owner, supervisor, case_id, "closure")
    if state == "closed":
        close_services(world.db, keyring, settings, supervisor, case_id)
    world.db.flush()
    return case_id


def _on_case(state: str = "open", json: Any = None, if_match: bool = False) -> Any:
    def build(world: World, who: str) -> Call:
        case_id = _case(world, state)
        headers = {"If-Match": '"1"'} if if_match else {}
        return Call(path={"case_id": case_id}, json=json, headers=headers)

    return build


def _assign(world: World, who: str) -> Call:
    return Call(
        path={"case_id": _case(world)}, json={"user_id": str(world.users["a.caseworker2"].id)}
    )


ENTRIES = [
    Entry(
        "POST",
        f"{P}/cases",
        lambda world, who: Call(json=BODY),
        expect(ok=CASEWORKERS),
        note="only caseworkers register children (they become the owner)",
    ),
    Entry(
        "GET",
        f"{P}/cases",
        lambda world, who: Call(),
        expect(ok=CASE_STAFF),
        note="the list itself is filtered by visibility (tested in test_cases_access.py)",
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}",
        _on_case(),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "PATCH",
        f"{P}/cases/{{case_id}}",
        _on_case(json={"narrative": "Updated."}, if_match=True),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "DELETE",
        f"{P}/cases/{{case_id}}",
        _on_case(json={"reason": "Registered twice"}),
        expect(**SUPERVISOR_ONLY),
        note="erasure is for supervisors of the case's agency",
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/stage",
        _on_case(json={"to": "assessment"}),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/close",
        _on_case("closure", json=CLOSE_BODY),
        expect(**SUPERVISOR_ONLY),
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/reopen",
        _on_case("closed"),
        expect(**SUPERVISOR_ONLY),
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/assign",
        _assign,
        expect(**SUPERVISOR_ONLY),
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/notes",
        _on_case(json={"text": "Visited the family."}),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/notes",
        _on_case(),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "GET",
        f"{P}/reference/concerns",
        lambda world, who: Call(),
        expect(ok=(*STAFF, *READ_CLIENTS)),
        note="every staff role and any client with referrals:read",
    ),
]
