"""Family tracing through HTTP: a child registered in one script or spelling is found by an
enquiry written in another; a supervisor confirms; reunification closes the request. Every step
is audited, and each side sees only the matches whose other side it may see."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from tests.api.test_cases_helpers import Actor, World, body, create, etag, world
from tests.factories import API

__all__ = ["world"]


def case_body(given: str, **child: Any) -> dict[str, Any]:
    data = body(given, child.pop("family", "Al-Jubouri"), dob=None)
    data["child"].update(child)
    data["child"]["sex"] = child.get("sex", "male")
    data["child"]["estimated_age"] = child.get("estimated_age", 12)
    return data


def enquiry(names: list[str], **sought: Any) -> dict[str, Any]:
    return {
        "enquirer": {"name": "Ahmad Hassan", "relationship": "father", "phone": "+964 750 1"},
        "sought": {"names": names, "sex": "male", "estimated_age": 12, **sought},
        "circumstances": "Separated at a checkpoint.",
    }


def file(client: TestClient, actor: Actor, data: dict[str, Any], expect: int = 201) -> Any:
    response = client.post(f"{API}/tracing-requests", json=data, headers=actor.headers)
    assert response.status_code == expect, response.text
    return response.json()


def matches(client: TestClient, actor: Actor, path: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}{path}", headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def actions(db: Session, resource_id: str) -> list[str]:
    db.expire_all()
    rows = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.resource_id == resource_id)
        .order_by(AuditEvent.seq)
    )
    return list(rows)


def test_latin_case_found_by_arabic_enquiry_then_confirmed_and_reunified(
    client: TestClient, world: World, db: Session
) -> None:
    case = create(
        client,
        world.owner,
        case_body("Mohammed", father_name="Ahmed", grandfather_name="Hasan"),
    )
    decoy = create(
        client,
        world.owner,
        case_body("Mahmoud", father_name="Khalil", grandfather_name="Yousef"),
    )
    request = file(
        client,
        world.owner,
        enquiry(["محمد"], father_name="أحمد", grandfather_name="حسن"),
    )
    assert request["status"] == "open"
    assert request["reference"].startswith("TR-")
    assert request["sought"]["names"] == ["محمد"]

    found = matches(client, world.owner, f"/tracing-requests/{request['id']}/matches")
    ids = [item["case_id"] for item in found]
    assert case["id"] in ids
    assert decoy["id"] not in ids
    best = found[0]
    assert best["case_id"] == case["id"]
    assert best["label"] == "likely"
    assert best["fields"]["given_name"] == "match"
    assert best["fields"]["father_name"] == "match"
    assert best["fields"]["sex"] == "match"
    assert best["tracing_request_id"] == request["id"]

    from_case = matches(client, world.owner, f"/cases/{case['id']}/matches")
    assert [item["tracing_request_id"] for item in from_case] == [request["id"]]

    # Only a supervisor decides.
    path = f"{API}/tracing-requests/{request['id']}/matches/{case['id']}"
    refused = client.post(f"{path}/confirm", json={"note": "same"}, headers=world.owner.headers)
    assert refused.status_code == 403
    early = client.post(
        f"{API}/tracing-requests/{request['id']}/reunify",
        json={"reunified_on": "2025-01-02", "with": "parents"},
        headers=world.supervisor.headers,
    )
    assert early.status_code == 409
    confirmed = client.post(
        f"{path}/confirm", json={"note": "Photo recognised"}, headers=world.supervisor.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    got = client.get(f"{API}/tracing-requests/{request['id']}", headers=world.owner.headers)
    assert got.json()["status"] == "matched"
    assert got.headers["ETag"] == etag(got.json()["version"])

    done = client.post(
        f"{API}/tracing-requests/{request['id']}/reunify",
        json={"reunified_on": "2025-01-02", "with": "parents", "note": "At the camp office"},
        headers=world.supervisor.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "reunified"
    assert done.json()["reunification"]["with"] == "parents"
    again = client.post(
        f"{API}/tracing-requests/{request['id']}/close",
        json={"reason": "done"},
        headers=world.owner.headers,
    )
    assert again.status_code == 409

    trail = actions(db, request["id"])
    for action in (
        "tracing_request.create",
        "tracing_match.list",
        "tracing_request.read",
        "tracing_match.confirm",
        "tracing_request.reunify",
    ):
        assert action in trail
    assert "case.reunified" in actions(db, case["id"])

    # The child's case shows the reunification on its own timeline, newest first.
    timeline = client.get(f"{API}/cases/{case['id']}/timeline", headers=world.owner.headers)
    assert timeline.status_code == 200, timeline.text
    entry = timeline.json()["items"][0]
    assert entry["kind"] == "reunification"
    assert entry["summary"] == (
        f"Reunified with parents on 2025-01-02 (tracing request {request['reference']}): "
        "At the camp office"
    )
    # ... and not the decoy's, which was never confirmed.
    other = client.get(f"{API}/cases/{decoy['id']}/timeline", headers=world.owner.headers)
    assert "reunification" not in {item["kind"] for item in other.json()["items"]}


def test_tracing_request_honours_idempotency_key(
    client: TestClient, world: World, db: Session
) -> None:
    data = enquiry(["Karwan"], father_name="Aso")
    key = str(uuid.uuid4())
    headers = {**world.owner.headers, "Idempotency-Key": key}
    first = client.post(f"{API}/tracing-requests", json=data, headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = client.post(f"{API}/tracing-requests", json=data, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reference"] == first.json()["reference"]
    listed = client.get(f"{API}/tracing-requests", headers=world.owner.headers).json()["items"]
    assert [item["id"] for item in listed].count(first.json()["id"]) == 1
    assert len(listed) == 1
    assert actions(db, first.json()["id"]).count("tracing_request.create") == 2

    # The same key with another body is refused, naming the header; nothing is created.
    changed = client.post(
        f"{API}/tracing-requests", json=enquiry(["Shilan"], sex="female"), headers=headers
    )
    assert changed.status_code == 422, changed.text
    assert "Idempotency-Key" in changed.text
    listed = client.get(f"{API}/tracing-requests", headers=world.owner.headers).json()["items"]
    assert len(listed) == 1


def test_new_case_is_matched_against_open_requests_and_rejection_sticks(
    client: TestClient, world: World
) -> None:
    request = file(
        client,
        world.owner,
        enquiry(["Abdulrahman Khalid"], grandfather_name="Ibrahim"),
    )
    assert matches(client, world.owner, f"/tracing-requests/{request['id']}/matches") == []
    case = create(
        client,
        world.owner,
        case_body("عبد الرحمن", father_name="خالد", grandfather_name="إبراهيم"),
    )
    found = matches(client, world.owner, f"/tracing-requests/{request['id']}/matches")
    assert [item["case_id"] for item in found] == [case["id"]]

    rejected = client.post(
        f"{API}/tracing-requests/{request['id']}/matches/{case['id']}/reject",
        json={"reason": "Different mother"},
        headers=world.supervisor.headers,
    )
    assert rejected.status_code == 200
    assert matches(client, world.owner, f"/tracing-requests/{request['id']}/matches") == []
    # Editing the case re-runs the matcher; the rejected pair is not proposed again.
    edited = client.patch(
        f"{API}/cases/{case['id']}",
        json={"child": {"other_names": ["Abdul Rahman Khaled Ibrahim"]}},
        headers={**world.owner.headers, "If-Match": etag(case["version"])},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["child"]["other_names"] == ["Abdul Rahman Khaled Ibrahim"]
    assert matches(client, world.owner, f"/tracing-requests/{request['id']}/matches") == []
    current = client.get(f"{API}/tracing-requests/{request['id']}", headers=world.owner.headers)
    stale = client.post(
        f"{API}/tracing-requests/{request['id']}/close",
        json={"reason": "Family found elsewhere"},
        headers={**world.owner.headers, "If-Match": etag(current.json()["version"] + 1)},
    )
    assert stale.status_code == 412
    closed = client.post(
        f"{API}/tracing-requests/{request['id']}/close",
        json={"reason": "Family found elsewhere"},
        headers={**world.owner.headers, "If-Match": current.headers["ETag"]},
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"


def test_matches_only_among_records_the_caller_may_see(client: TestClient, world: World) -> None:
    case = create(
        client, world.owner, case_body("Yusuf", father_name="Omar", grandfather_name="Salih")
    )
    request = file(
        client,
        world.other_caseworker,
        enquiry(["يوسف"], father_name="عمر", grandfather_name="صالح"),
    )
    # The other agency's caseworker owns the request but may not see the case.
    assert (
        matches(client, world.other_caseworker, f"/tracing-requests/{request['id']}/matches") == []
    )
    # Our side sees the case but not the other agency's request.
    assert matches(client, world.owner, f"/cases/{case['id']}/matches") == []
    for actor in (world.owner, world.colleague, world.supervisor):
        got = client.get(f"{API}/tracing-requests/{request['id']}", headers=actor.headers)
        assert got.status_code == 404
    assert (
        client.get(
            f"{API}/tracing-requests/{request['id']}", headers=world.other_supervisor.headers
        ).status_code
        == 200
    )
    listed = client.get(f"{API}/tracing-requests", headers=world.owner.headers).json()
    assert request["id"] not in [item["id"] for item in listed["items"]]
    confirm = client.post(
        f"{API}/tracing-requests/{request['id']}/matches/{case['id']}/confirm",
        json={"note": "x"},
        headers=world.other_supervisor.headers,
    )
    assert confirm.status_code == 404
    for actor in (world.system_admin, world.auditor, world.partner):
        assert client.get(f"{API}/tracing-requests", headers=actor.headers).status_code == 403


def test_bad_input_names_every_field(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/tracing-requests",
        json={"enquirer": {"name": " "}, "sought": {"names": [], "sex": "boy"}},
        headers=world.owner.headers,
    )
    assert response.status_code == 422
    locs = {tuple(error["loc"]) for error in response.json()["errors"]}
    assert ("body", "enquirer", "name") in locs
    assert ("body", "enquirer", "relationship") in locs
    assert ("body", "sought", "names") in locs
    assert ("body", "sought", "sex") in locs
    future = enquiry(["Ali"], last_seen_on="2999-01-01")
    assert file(client, world.owner, future, expect=422)["status"] == 422
    unknown = client.get(f"{API}/tracing-requests/{uuid.uuid4()}", headers=world.owner.headers)
    assert unknown.status_code == 404


def test_name_search_considers_other_names(client: TestClient, world: World) -> None:
    case = create(client, world.owner, case_body("Mohammed", other_names=["مُحَمَّد", "Muhammad"]))
    other = create(client, world.owner, case_body("Mahmoud"))
    for name in ("محمد", "muhammad", "Mohammed"):
        found = client.get(f"{API}/cases", params={"name": name}, headers=world.owner.headers)
        assert found.status_code == 200
        ids = [item["id"] for item in found.json()["items"]]
        assert case["id"] in ids
        assert other["id"] not in ids
    renamed = client.patch(
        f"{API}/cases/{case['id']}",
        json={"child": {"other_names": ["Hamoudi"]}},
        headers={**world.owner.headers, "If-Match": etag(case["version"])},
    )
    assert renamed.status_code == 200
    gone = client.get(f"{API}/cases", params={"name": "muhammad"}, headers=world.owner.headers)
    assert case["id"] not in [item["id"] for item in gone.json()["items"]]
    now = client.get(f"{API}/cases", params={"name": "hamoudi"}, headers=world.owner.headers)
    assert [item["id"] for item in now.json()["items"]] == [case["id"]]


def test_erasing_a_case_removes_its_tokens_and_matches(
    client: TestClient, world: World, db: Session
) -> None:
    from models.tracing import CaseTracingToken, TracingMatch

    case = create(
        client, world.owner, case_body("Karwan", father_name="Aziz", grandfather_name="Omar")
    )
    request = file(
        client, world.owner, enquiry(["کاروان"], father_name="عزيز", grandfather_name="عمر")
    )
    assert [
        m["case_id"]
        for m in matches(client, world.owner, f"/tracing-requests/{request['id']}/matches")
    ] == [case["id"]]
    erased = client.request(
        "DELETE",
        f"{API}/cases/{case['id']}",
        json={"reason": "Duplicate"},
        headers=world.supervisor.headers,
    )
    assert erased.status_code == 204
    db.expire_all()
    case_id = uuid.UUID(case["id"])
    assert (
        db.scalars(select(CaseTracingToken).where(CaseTracingToken.case_id == case_id)).all() == []
    )
    assert db.scalars(select(TracingMatch).where(TracingMatch.case_id == case_id)).all() == []
    assert matches(client, world.owner, f"/tracing-requests/{request['id']}/matches") == []


def test_namesakes_that_score_alike_are_each_only_possible(
    client: TestClient, world: World
) -> None:
    """Two children registered with the same chain of names and age: the enquiry finds both,
    and neither is called likely, since the names cannot tell them apart."""
    first = create(
        client,
        world.owner,
        case_body("Mustafa", father_name="Kareem", grandfather_name="Jabbar"),
    )
    second = create(
        client,
        world.owner,
        case_body("Mustafa", father_name="Kareem", grandfather_name="Jabbar"),
    )
    request = file(
        client, world.owner, enquiry(["Mustafa"], father_name="Kareem", grandfather_name="Jabbar")
    )
    found = matches(client, world.owner, f"/tracing-requests/{request['id']}/matches")
    by_case = {item["case_id"]: item for item in found}
    assert {first["id"], second["id"]} <= set(by_case)
    assert by_case[first["id"]]["score"] == by_case[second["id"]]["score"]
    assert {by_case[first["id"]]["label"], by_case[second["id"]]["label"]} == {"possible"}
    # The same label from the case's side.
    from_case = matches(client, world.owner, f"/cases/{first['id']}/matches")
    assert [item["label"] for item in from_case] == ["possible"]

    # Once one of them is rejected, the other is ahead of everything left, and likely.
    rejected = client.post(
        f"{API}/tracing-requests/{request['id']}/matches/{second['id']}/reject",
        json={"reason": "Different mother"},
        headers=world.supervisor.headers,
    )
    assert rejected.status_code == 200, rejected.text
    found = matches(client, world.owner, f"/tracing-requests/{request['id']}/matches")
    assert [(item["case_id"], item["label"]) for item in found] == [(first["id"], "likely")]
