"""Matrix entries: need-to-know (a case's access list).

Targets: a fresh case of agency `a` owned by `a.caseworker` (see `cases.py`). Its access list is
read by whoever may read the case and changed by the owner or a supervisor who may read it;
a same-agency colleague who is not listed, and staff of agency `b`, meet 404.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from models.access import Alert, BreakGlassUse, CaseAccess
from models.base import utcnow
from models.cases import Case
from services.oversight.sealing import seal_text
from services.policy import Role
from tests.api.matrix import Call, Entry, World, expect, keys
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


OVERSEERS = keys("a", "b", roles=("supervisor", "auditor"))
AUDITORS = keys("a", "b", roles=("auditor",))


def _restricted(world: World) -> uuid.UUID:
    case_id = _case(world)
    world.db.execute(update(Case).where(Case.id == case_id).values(restricted=True))
    world.db.flush()
    return case_id


def _use(world: World, who: str) -> Call:
    """A break-glass use of agency `a`'s case by another supervisor of `a`."""
    case_id = _restricted(world)
    user = world.new_user("a", Role.SUPERVISOR)
    now = utcnow()
    use = BreakGlassUse(
        id=uuid.uuid4(),
        case_id=case_id,
        case_number="HVN-TEST",
        agency_id=world.agency("a").id,
        user_id=user.id,
        used_at=now,
        expires_at=now + timedelta(minutes=60),
    )
    use.reason_sealed = seal_text(
        world.runtime.keyring,
        "Missing child",
        table="break_glass_uses",
        record_id=use.id,
        field="reason",
    )
    world.db.add(use)
    world.db.flush()
    return Call(path={"break_glass_id": use.id}, json={"note": "Justified."})


def _alert(world: World, who: str) -> Call:
    """An open bulk-read alert about another caseworker of agency `a`."""
    reader = world.new_user("a")
    alert = Alert(
        id=uuid.uuid4(),
        kind="bulk_read",
        actor_type="user",
        actor_id=reader.id,
        agency_id=world.agency("a").id,
        raised_at=utcnow(),
        distinct_reads=31,
        read_limit=30,
        suspends=False,
    )
    world.db.add(alert)
    world.db.flush()
    return Call(path={"alert_id": alert.id}, json={"note": "Justified."})


ENTRIES = [
    Entry(
        "GET",
        f"{P}/alerts",
        lambda world, who: Call(),
        expect(ok=OVERSEERS),
        note="supervisors see their agency's alerts, auditors every agency's",
    ),
    Entry(
        "POST",
        f"{P}/alerts/{{alert_id}}/clear",
        _alert,
        expect(ok=("a.supervisor", *AUDITORS), not_found=("b.supervisor",)),
        note="a supervisor of the reader's agency, or an auditor (a lone supervisor's alert)",
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/break-glass",
        lambda world, who: Call(
            path={"case_id": _restricted(world)}, json={"reason": "Child missing tonight"}
        ),
        expect(ok=("a.supervisor",), not_found=("b.supervisor",)),
        note="a supervisor of the case's agency not on its access list",
    ),
    Entry(
        "GET",
        f"{P}/break-glass",
        lambda world, who: Call(),
        expect(ok=OVERSEERS),
        note="auditors see every agency's uses, supervisors their own",
    ),
    Entry(
        "POST",
        f"{P}/break-glass/{{break_glass_id}}/review",
        _use,
        expect(ok=("a.supervisor", *AUDITORS), not_found=("b.supervisor",)),
        note="an auditor or another supervisor of the agency (never the user itself)",
    ),
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
