"""Nothing identifying is readable at rest: after a realistic workload through HTTP (intake,
update, notes, searches, a rejected request, erasure), no marker value of any sensitive field
appears in the SQLite database file (and its -wal/-shm) or in a `pg_dump` of PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from services.crypto import normalise
from services.policy import Role
from services.runtime import Runtime
from tests.databases import is_postgres
from tests.factories import API, case_body, make_agency, make_user, user_headers

MARKERS = {
    "given": "Qxzorbelia",
    "family": "Vantrimmova",
    "given_ar": "زمرديناء",
    "family_ku": "ڤیانۆشکێ",
    "governorate": "Marklandorum",
    "district": "Plonkvillage",
    "address": "Wibblestrasse Seventeen",
    "caregiver": "Grizelda Thrumcap",
    "relationship": "godmotherly",
    "phone": "+964 777 123 4567",
    "narrative": "Narrativemarker recruited near Ybblefort",
    "note": "Notemarker family traced to Quonkton",
    "patched": "Patchmarkerson",
    "reason": "Reasonmarker duplicate entry",
    "dob": "2013-07-19",
    "concern": "explosive_ordnance",
    "concern2": "child_marriage",
    "separation": "unaccompanied",
}


def _body(given: str, family: str) -> dict[str, Any]:
    return case_body(
        child={
            "given_name": given,
            "family_name": family,
            "sex": "male",
            "date_of_birth": MARKERS["dob"],
        },
        location={
            "governorate": MARKERS["governorate"],
            "district": MARKERS["district"],
            "address": MARKERS["address"],
        },
        caregivers=[
            {
                "name": MARKERS["caregiver"],
                "relationship": MARKERS["relationship"],
                "phone": MARKERS["phone"],
            }
        ],
        separation_status=MARKERS["separation"],
        protection_concerns=[MARKERS["concern"], MARKERS["concern2"]],
        risk_level="high",
        narrative=MARKERS["narrative"],
    )


@pytest.fixture
def workload(fresh_runtime: Runtime) -> Runtime:
    """Run a realistic workload with real commits; the runtime, for inspection."""
    settings = fresh_runtime.settings
    with fresh_runtime.session_factory() as session:
        agency = make_agency(session)
        worker = make_user(session, agency, Role.CASEWORKER)
        boss = make_user(session, agency, Role.SUPERVISOR)
        worker_h = user_headers(session, worker, settings)
        boss_h = user_headers(session, boss, settings)
        session.commit()
    client = TestClient(create_app(runtime=fresh_runtime))
    latin = client.post(
        f"{API}/cases",
        json=_body(MARKERS["given"], MARKERS["family"]),
        headers={**worker_h, "Idempotency-Key": "storage-1"},
    )
    assert latin.status_code == 201, latin.text
    replay = client.post(
        f"{API}/cases",
        json=_body(MARKERS["given"], MARKERS["family"]),
        headers={**worker_h, "Idempotency-Key": "storage-1"},
    )
    assert replay.json()["id"] == latin.json()["id"]
    arabic = client.post(
        f"{API}/cases", json=_body(MARKERS["given_ar"], MARKERS["family_ku"]), headers=worker_h
    )
    assert arabic.status_code == 201
    assert arabic.json()["possible_duplicates"] == []
    case_id = latin.json()["id"]
    patched = client.patch(
        f"{API}/cases/{case_id}",
        json={"child": {"family_name": MARKERS["patched"]}},
        headers={**worker_h, "If-Match": '"1"'},
    )
    assert patched.status_code == 200
    note = client.post(
        f"{API}/cases/{case_id}/notes",
        json={"text": MARKERS["note"]},
        headers={**worker_h, "Idempotency-Key": "note-1"},
    )
    assert note.status_code == 201
    for name in (MARKERS["given"], MARKERS["patched"], MARKERS["given_ar"], "Nobody Known"):
        found = client.get(f"{API}/cases", params={"name": name}, headers=boss_h)
        assert found.status_code == 200
    assert client.get(f"{API}/cases/{case_id}/notes", headers=boss_h).json()["items"]
    rejected = _body(MARKERS["given"], MARKERS["family"])
    rejected["child"]["sex"] = "not-a-sex"
    assert client.post(f"{API}/cases", json=rejected, headers=worker_h).status_code == 422
    erased = client.request(
        "DELETE",
        f"{API}/cases/{arabic.json()['id']}",
        json={"reason": MARKERS["reason"]},
        headers=boss_h,
    )
    assert erased.status_code == 204
    # The workload really stored the values: they come back decrypted.
    again = client.get(f"{API}/cases/{case_id}", headers=worker_h).json()
    assert again["child"]["family_name"] == MARKERS["patched"]
    assert again["location"]["address"] == MARKERS["address"]
    return fresh_runtime


def _needles() -> dict[str, list[bytes]]:
    needles: dict[str, list[bytes]] = {}
    for key, value in MARKERS.items():
        forms = {value, normalise(value), value.lower(), value.upper()}
        encoded = [form.encode("utf-8") for form in forms if form]
        encoded += [form.encode("utf-16-le") for form in forms if len(form) > 3]
        needles[key] = encoded
    return needles


def _leaks(data: bytes, *, hexed: bool = False) -> list[str]:
    found = []
    haystack = data.lower() if hexed else data
    for key, forms in _needles().items():
        for form in forms:
            if form in data or (hexed and form.hex().encode("ascii") in haystack):
                found.append(key)
                break
    return found


def test_no_plaintext_in_the_sqlite_files(workload: Runtime) -> None:
    if is_postgres():
        pytest.skip("SQLite files exist only on the SQLite backend (PostgreSQL: pg_dump test)")
    database = make_url(workload.settings.database_url).database
    assert database
    path = Path(database)
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert path in files
    data = b"".join(p.read_bytes() for p in files)
    assert len(data) > 10_000
    # The check can fail: a non-sensitive value we wrote is found.
    assert b"HVN-" in data
    assert _leaks(data) == []


@pytest.mark.postgres_only
def test_no_plaintext_in_a_pg_dump(workload: Runtime) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed on this machine")
    url = make_url(workload.settings.database_url)
    result = subprocess.run(
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
    )
    dump = result.stdout
    assert b"CREATE TABLE public.cases" in dump
    assert b"HVN-" in dump
    assert _leaks(dump, hexed=True) == []


def test_the_leak_check_itself_finds_plaintext() -> None:
    planted = b"xx" + MARKERS["address"].encode("utf-8") + b"yy"
    assert _leaks(planted) == ["address"]
    hexed = b"\\x" + MARKERS["given_ar"].encode("utf-8").hex().encode("ascii")
    assert _leaks(hexed, hexed=True) == ["given_ar"]
