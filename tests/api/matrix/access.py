"""Matrix entries: need-to-know (a case's access list).

Targets: a fresh case of agency `a` owned by `a.caseworker` (see `cases.py`). Its access list is
read by whoever may read the case and changed by the owner or a supervisor who may read it;
a same-agency colleague who is not listed, and staff of agency `b`, meet 404.
"""

from __future__ import annotations

from models.access import CaseAccess
from tests.api.matrix import Call, Entry, World, expect
from tests.api.matrix.cases import NOT_VISIBLE, OWNER_SIDE, _case
from tests.factories import API

P = API


def _grant(world: World, who: str) -> Call:
    colleague = world.new_user("a")
    return Call(path={"case_id": _case(world)}, json={"user_id": str(colleague.id)})


def _listed(world: World, who: str) -> Call:
    case_id = _case(world)
    colleague = world.new_user("a")
    owner = world.users["a.caseworker"]
    world.db.add(CaseAccess(case_id=case_id, user_id=colleague.id, added_by=owner.id))
    world.db.flush()
    return Call(path={"case_id": case_id, "user_id": colleague.id})


ENTRIES = [
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/access-list",
        lambda world, who: Call(path={"case_id": _case(world)}),
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/access-list",
        _grant,
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
        note="the owner, or a supervisor who may read the case",
    ),
    Entry(
        "DELETE",
        f"{P}/cases/{{case_id}}/access-list/{{user_id}}",
        _listed,
        expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE),
    ),
]
