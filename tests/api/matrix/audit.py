"""Matrix entries: the audit log (auditors of any agency) and a case's access log (the
supervisor of the case's agency; the case belongs to agency `a`, owned by `a.caseworker`)."""

from __future__ import annotations

import uuid

from services.cases.intake import create_case
from tests.api.matrix import Call, Entry, World, expect, keys
from tests.factories import API, principal_of
from tests.referrals_support import case_body

P = API
AUDITORS = keys("a", "b", roles=("auditor",))


def _case(world: World) -> uuid.UUID:
    caseworker = principal_of(world.users["a.caseworker"])
    view = create_case(world.db, world.runtime.keyring, world.settings, caseworker, case_body())
    return view.case.id


ENTRIES = [
    Entry(
        "GET",
        f"{P}/audit/events",
        lambda world, who: Call(query={"limit": "5"}),
        expect(ok=AUDITORS),
    ),
    Entry(
        "GET",
        f"{P}/audit/verify",
        lambda world, who: Call(),
        expect(ok=AUDITORS),
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/access-log",
        lambda world, who: Call(path={"case_id": _case(world)}),
        expect(ok=("a.supervisor",), not_found=("b.supervisor",)),
        note="only a supervisor may read an access log, and only of its own agency's cases",
    ),
]
