"""Nothing a caseworker writes about the work is readable at rest: marker strings written into
every free-text field of casework (assessment observations and views, plan goals and actions,
service descriptions and outcomes, a partner's outcome, follow-up observations, the closure note)
and into its sensitive codes appear nowhere in the SQLite files or a `pg_dump`, nor in the logs
or the audit rows; and erasing the case leaves none of its records behind."""

from __future__ import annotations

import logging
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from api.app import create_app
from models.audit import AuditEvent
from models.casework import Assessment, Closure, FollowUp, PlanVersion, ServiceDelivery
from services.runtime import Runtime
from tests.casework_support import today
from tests.databases import is_postgres
from tests.factories import API
from tests.referrals_support import case_body, referral_body, world_with_case

MARKERS = {
    "observations": "Obsmarker Zephyrwhistle",
    "child_views": "Childviewmarker Marmalune",
    "caregiver_views": "Carerviewmarker Brisketon",
    "goal": "Goalmarker Thistlequay",
    "action": "Actionmarker Pombleford",
    "service_description": "Servdescmarker Quarrington",
    "service_outcome": "Servoutmarker Fennimore",
    "partner_outcome": "Partneroutmarker Glimwick",
    "follow_up": "Followmarker Yarrowby",
    "follow_up_ar": "ملاحظةسرية",
    "closure_note": "Closuremarker Drumbleton",
    "erased_observations": "Erasedmarker Wobblecombe",
}
CODES = {"need": "release_and_reintegration", "domain": "armed_group_association"}
"""Codes that say something about a child: stored only inside the sealed documents."""


def _assessment(observations: str) -> dict[str, Any]:
    return {
        "kind": "comprehensive",
        "completed_on": today().isoformat(),
        "domains": [
            {
                "domain": CODES["domain"],
                "severity": "high",
                "needs": [CODES["need"]],
                "observations": observations,
            }
        ],
        "child_views": MARKERS["child_views"],
        "caregiver_views": MARKERS["caregiver_views"],
    }


@pytest.fixture
def workload(
    fresh_runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[Runtime, str]]:
    caplog.set_level(logging.DEBUG)
    with fresh_runtime.session_factory() as session:
        world = world_with_case(session, fresh_runtime.keyring, fresh_runtime.settings)
        session.commit()
    cw, sup, partner = world.h["caseworker"], world.h["supervisor"], world.h["partner"]
    client = TestClient(create_app(runtime=fresh_runtime), raise_server_exceptions=False)
    # The app installs its own root handler (JSON to stderr); listen beside it.
    root = logging.getLogger()
    root.addHandler(caplog.handler)
    root.setLevel(logging.DEBUG)

    def ok(response: Any, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        result: dict[str, Any] = response.json()
        return result

    case_id = ok(client.post(f"{API}/cases", json=case_body(), headers=cw), 201)["id"]
    url = f"{API}/cases/{case_id}"
    ok(
        client.post(f"{url}/assessments", json=_assessment(MARKERS["observations"]), headers=cw),
        201,
    )
    plan = {
        "goals": [
            {
                "need": CODES["need"],
                "description": MARKERS["goal"],
                "actions": [
                    {
                        "description": MARKERS["action"],
                        "responsible": "caseworker",
                        "due_on": today().isoformat(),
                        "status": "planned",
                    }
                ],
            }
        ],
        "review_due_on": today().isoformat(),
    }
    ok(client.put(f"{url}/plan", json=plan, headers=cw))
    ok(client.post(f"{url}/plan/approve", headers=sup))
    service = {
        "service_type": "rehabilitation",
        "provided_on": today().isoformat(),
        "provided_by": "own_agency",
        "description": MARKERS["service_description"],
        "outcome": MARKERS["service_outcome"],
    }
    ok(client.post(f"{url}/services", json=service, headers=cw), 201)
    rid = ok(
        client.post(f"{url}/referrals", json=referral_body(world.partner_agency.id), headers=cw),
        201,
    )["id"]
    ok(client.post(f"{API}/referrals/{rid}/approve", headers=sup))
    ok(client.post(f"{API}/referrals/{rid}/accept", headers=partner))
    ok(
        client.post(
            f"{API}/referrals/{rid}/complete",
            json={"outcome": MARKERS["partner_outcome"]},
            headers=partner,
        )
    )
    for text in (MARKERS["follow_up"], MARKERS["follow_up_ar"]):
        follow_up = {
            "happened_on": today().isoformat(),
            "mode": "phone",
            "observations": text,
            "wellbeing": "worse",
        }
        ok(client.post(f"{url}/follow-ups", json=follow_up, headers=cw), 201)
    for stage in ("assessment", "case_plan", "implementation", "follow_up", "closure"):
        ok(client.post(f"{url}/stage", json={"to": stage}, headers=cw))
    closing = {"reason": "other", "note": MARKERS["closure_note"]}
    ok(client.post(f"{url}/close", json=closing, headers=sup))
    # Everything reads back decrypted for those who may see the case.
    timeline = ok(client.get(f"{url}/timeline", headers=sup))["items"]
    assert MARKERS["closure_note"] in timeline[0]["summary"]
    assert (
        ok(client.get(f"{url}/assessments", headers=sup))["items"][0]["child_views"]
        == (MARKERS["child_views"])
    )
    # A second case, erased: its records go with it.
    erased = ok(client.post(f"{API}/cases", json=case_body(), headers=cw), 201)["id"]
    ok(
        client.post(
            f"{API}/cases/{erased}/assessments",
            json=_assessment(MARKERS["erased_observations"]),
            headers=cw,
        ),
        201,
    )
    gone = client.request(
        "DELETE", f"{API}/cases/{erased}", json={"reason": "Registered twice"}, headers=sup
    )
    assert gone.status_code == 204
    assert client.get(f"{API}/cases/{erased}/assessments", headers=sup).status_code == 404
    yield fresh_runtime, erased
    root.removeHandler(caplog.handler)


def _needles() -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for key, value in {**MARKERS, **CODES}.items():
        forms = {value, value.lower(), value.upper()}
        found[key] = [form.encode("utf-8") for form in forms] + [
            form.encode("utf-16-le") for form in forms
        ]
    return found


def _leaks(data: bytes, *, hexed: bool = False) -> list[str]:
    haystack = data.lower() if hexed else data
    return [
        key
        for key, forms in _needles().items()
        if any(form in data or (hexed and form.hex().encode() in haystack) for form in forms)
    ]


def test_no_plaintext_at_rest_in_logs_or_audit(
    workload: tuple[Runtime, str], caplog: pytest.LogCaptureFixture
) -> None:
    runtime, erased = workload
    with runtime.session_factory() as session:
        events = session.scalars(select(AuditEvent)).all()
        assert events
        audit_text = "\n".join(
            f"{e.action} {e.resource_type} {e.fields} {e.detail}" for e in events
        ).encode()
        assert b"assessment.create" in audit_text and b"plan.approve" in audit_text
        assert _leaks(audit_text) == []
        for model in (Assessment, PlanVersion, ServiceDelivery, FollowUp, Closure):
            left = session.scalar(
                select(func.count()).select_from(model).where(model.case_id == uuid.UUID(erased))
            )
            assert left == 0, model.__tablename__
    records = caplog.get_records("setup") + caplog.get_records("call")
    logs = "\n".join(record.getMessage() + str(record.__dict__) for record in records)
    assert "assessments" in logs
    assert _leaks(logs.encode()) == []
    if is_postgres():
        return
    database = make_url(runtime.settings.database_url).database
    assert database
    path = Path(database)
    data = b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )
    assert b"HVN-" in data
    assert _leaks(data) == []


@pytest.mark.postgres_only
def test_no_plaintext_in_a_pg_dump(workload: tuple[Runtime, str]) -> None:
    runtime, _ = workload
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed on this machine")
    url = make_url(runtime.settings.database_url)
    dump = subprocess.run(
        [
            pg_dump,
            "--no-owner",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        capture_output=True,
        check=True,
        timeout=120,
        env={"PGPASSWORD": url.password or "", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert b"CREATE TABLE public.case_assessments" in dump
    assert _leaks(dump, hexed=True) == []


def test_the_leak_check_finds_a_planted_marker() -> None:
    assert _leaks(b"xx" + MARKERS["goal"].encode() + b"yy") == ["goal"]
    planted = b"\\x" + MARKERS["follow_up_ar"].encode().hex().encode()
    assert _leaks(planted, hexed=True) == ["follow_up_ar"]
