"""Matrix entries: casework on a case (assessments, the plan and its versions, services
delivered, follow-ups, the timeline), case search by body, the caseload view and the new
reference lists.

Targets as for cases (`cases.py`): a fresh case of agency `a` owned by `a.caseworker`, seen by
it and by `a.supervisor`; the colleague and agency `b`'s case staff get 404; admins, auditors,
partner clients and the restricted token 403. Plan approval is a supervisor's alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.cases.intake import create_case
from services.casework.assessments import record_assessment
from services.casework.plans import put_plan
from tests.api.matrix import STAFF, Call, Entry, World, expect, keys
from tests.api.matrix.cases import (
    BODY,
    CASE_STAFF,
    NOT_VISIBLE,
    OWNER_SIDE,
    READ_CLIENTS,
)
from tests.casework_support import assessment_body, follow_up_body, plan_body
from tests.factories import API, principal_of

P = API


def _case(world: World, *, assessed: bool = False, planned: bool = False) -> uuid.UUID:
    owner = principal_of(world.users["a.caseworker"])
    keyring, settings = world.runtime.keyring, world.settings
    case_id = create_case(world.db, keyring, settings, owner, BODY).case.id
    if assessed or planned:
        record_assessment(world.db, keyring, settings, owner, case_id, assessment_body())
    if planned:
        put_plan(world.db, keyring, settings, owner, case_id, plan_body())
    world.db.flush()
    return case_id


def _on(
    json: Any = None,
    *,
    assessed: bool = False,
    planned: bool = False,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Any:
    def build(world: World, who: str) -> Call:
        case_id = _case(world, assessed=assessed, planned=planned)
        return Call(path={"case_id": case_id, **(extra or {})}, json=json, headers=headers or {})

    return build


ON_CASE = expect(ok=OWNER_SIDE, not_found=NOT_VISIBLE)

ENTRIES = [
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/assessments",
        _on(assessment_body()),
        ON_CASE,
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/assessments",
        _on(assessed=True),
        ON_CASE,
    ),
    Entry(
        "PUT",
        f"{P}/cases/{{case_id}}/plan",
        _on(plan_body(), assessed=True),
        ON_CASE,
        note="the first plan of a case takes no If-Match",
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/plan",
        _on(planned=True),
        ON_CASE,
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/plan/approve",
        _on(planned=True),
        expect(ok=("a.supervisor",), not_found=("b.supervisor",)),
        note="approving a plan is a supervisor's decision",
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/plan/versions",
        _on(planned=True),
        ON_CASE,
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/plan/versions/{{version}}",
        _on(planned=True, extra={"version": 1}),
        ON_CASE,
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/services",
        _on(
            {
                "service_type": "medical",
                "provided_on": "2026-01-05",
                "provided_by": "own_agency",
                "description": "Wound care.",
            }
        ),
        ON_CASE,
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/services",
        _on(),
        ON_CASE,
    ),
    Entry(
        "POST",
        f"{P}/cases/{{case_id}}/follow-ups",
        _on(follow_up_body()),
        ON_CASE,
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/follow-ups",
        _on(),
        ON_CASE,
    ),
    Entry(
        "GET",
        f"{P}/cases/{{case_id}}/timeline",
        _on(assessed=True),
        ON_CASE,
    ),
    Entry(
        "POST",
        f"{P}/cases/search",
        lambda world, who: Call(json={"risk_level": "medium"}),
        expect(ok=CASE_STAFF),
        note="the list itself is filtered by visibility, as GET /cases",
    ),
    Entry(
        "GET",
        f"{P}/caseload",
        lambda world, who: Call(),
        expect(ok=keys("a", "b", roles=("supervisor",))),
        note="each supervisor sees its own agency's caseload",
    ),
    *(
        Entry(
            "GET",
            f"{P}/reference/{name}",
            lambda world, who: Call(),
            expect(ok=(*STAFF, *READ_CLIENTS)),
            note="every staff role and any client with referrals:read",
        )
        for name in ("needs", "services", "closure-reasons")
    ),
]
