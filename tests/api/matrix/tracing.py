"""Matrix entries: family tracing requests, their matches, decisions and reunification.

Targets: a fresh tracing request of agency `a` filed by `a.caseworker` and, where a match is
needed, a case of `a.caseworker` with the same child's names (proposed, or confirmed for
reunification). Visibility is that of cases: `a.caseworker` (owner) and `a.supervisor` see it;
the same-agency colleague and agency `b` get 404; admins, auditors, partner clients and the
restricted token may never touch tracing: 403. Decisions and reunification are a supervisor's.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from services.tracing.matches import decide
from services.tracing.requests import create_request
from services.tracing.states import MatchEvent
from tests.api.matrix import Call, Entry, World, expect, keys
from tests.api.matrix.cases import BODY, CASE_STAFF, CASEWORKERS, NOT_VISIBLE, OWNER_SIDE
from tests.factories import API
from tests.factories import principal_of as _principal

P = API
SUPERVISOR_ONLY: dict[str, Any] = {"ok": ("a.supervisor",), "not_found": ("b.supervisor",)}

REQUEST: dict[str, Any] = {
    "enquirer": {"name": "Matrix Enquirer", "relationship": "mother"},
    "sought": {
        "names": ["Matrix Tracee"],
        "father_name": "Fatherly",
        "grandfather_name": "Granderly",
        "sex": "unknown",
    },
}


def _word() -> str:
    """A random name, so each target's pair matches itself rather than earlier targets'."""
    return "".join(secrets.choice("bdfgklmnrstz") + secrets.choice("aeiou") for _ in range(4))


def _request(world: World, state: str = "open") -> tuple[uuid.UUID, uuid.UUID | None]:
    """A request of `a.caseworker`; with `state` `proposed`/`matched`, a matching case too."""
    owner = _principal(world.users["a.caseworker"])
    keyring, settings = world.runtime.keyring, world.settings
    given, father = _word(), _word()
    request_body = {
        **REQUEST,
        "sought": {**REQUEST["sought"], "names": [given], "father_name": father},
    }
    case_id = None
    if state != "open":
        from services.cases.intake import create_case

        body = {
            **BODY,
            "child": {
                "given_name": given,
                "family_name": "Tracee",
                "sex": "unknown",
                "father_name": father,
                "grandfather_name": "Granderly",
            },
        }
        case_id = create_case(world.db, keyring, settings, owner, body).case.id
    request = create_request(world.db, keyring, settings, owner, request_body).request
    if state == "matched" and case_id is not None:
        supervisor = _principal(world.users["a.supervisor"])
        decide(world.db, keyring, supervisor, request.id, case_id, MatchEvent.CONFIRM, "Same child")
    world.db.flush()
    return request.id, case_id


def _on_request(state: str = "open", json: Any = None, with_case: bool = False) -> Any:
    def build(world: World, who: str) -> Call:
        request_id, case_id = _request(world, state)
        path: dict[str, object] = {"request_id": request_id}
        if with_case:
            path["case_id"] = case_id
        return Call(path=path, json=json)

    return build


def _case_matches(world: World, who: str) -> Call:
    _, case_id = _request(world, "proposed")
    return Call(path={"case_id": case_id})


ENTRIES = [
    Entry(
        "POST",
        f"{P}/tracing-requests",
        lambda world, who: Call(json=REQUEST),
        expect(ok=CASEWORKERS),
        note="caseworkers file enquiries and own them, like cases",
    ),
    Entry(
        "GET",
        f"{P}/tracing-requests",
        lambda world, who: Call(),
        expect(ok=CASE_STAFF),
        note="the list is filtered by visibility (test_tracing_flow.py)",
    ),
    Entry(
        "GET",
        f"{P}/tracing-requests/{{request_id}}",
        _on_request(),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "GET",
        f"{P}/tracing-requests/{{request_id}}/matches",
        _on_request("proposed"),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/matches",
        _case_matches,
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "POST",
        f"{P}/tracing-requests/{{request_id}}/matches/{{case_id}}/confirm",
        _on_request("proposed", json={"note": "Recognised"}, with_case=True),
        expect(**SUPERVISOR_ONLY),
        note="a confirmed match is a supervisor's decision",
    ),
    Entry(
        "POST",
        f"{P}/tracing-requests/{{request_id}}/matches/{{case_id}}/reject",
        _on_request("proposed", json={"reason": "Different family"}, with_case=True),
        expect(**SUPERVISOR_ONLY),
    ),
    Entry(
        "POST",
        f"{P}/tracing-requests/{{request_id}}/reunify",
        _on_request("matched", json={"reunified_on": "2025-05-01", "with": "parents"}),
        expect(**SUPERVISOR_ONLY),
    ),
    Entry(
        "POST",
        f"{P}/tracing-requests/{{request_id}}/close",
        _on_request(json={"reason": "Enquirer withdrew"}),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
]

__all__ = ["ENTRIES", "keys"]
