"""Nothing a tracing match could be built from is readable at rest.

After a tracing workload through HTTP (cases with the new name fields, an enquiry in another
script, matching both ways, a confirmation, a reunification, a closed request), neither the
SQLite files nor a `pg_dump` hold: any marker value (raw, normalised, its Latin pivot), the
unkeyed skeleton or phonetic code of any marker name, or an untruncated HMAC of such a code.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from api.app import create_app
from models.tracing import CaseTracingToken, TracingRequestToken
from services.crypto import normalise
from services.policy import Role
from services.runtime import Runtime
from services.tracing.keys import KeyKind, NameField, TracingKeys, hex_length, plan
from services.tracing.normalise import name_units, phonetics, pivot, skeletons
from tests.databases import is_postgres
from tests.factories import API, make_agency, make_user, user_headers

NAMES = {
    "given": "Zorvathiel",
    "father": "Brintolmax",
    "grandfather": "Krumpelstad",
    "mother": "Vellindraq",
    "family": "Thornquistle",
    "other": "Gwendrapolix",
    "given_ar": "زمرديناء",
    "father_ku": "ڤیانۆشکێ",
}
OTHER = {
    "enquirer": "Quillimbrest Ostravaine",
    "relationship": "stepgrandaunt",
    "phone": "+964 771 987 6543",
    "place": "Yarnoculum",
    "circumstances": "Circumstancemarker crossing at Pembleford",
    "note": "Confirmnotemarker photograph",
    "reunion": "Reunionmarker at Drovekirk",
    "reason": "Closereasonmarker Quaffledorp",
}


def _case(given: str, father: str) -> dict[str, Any]:
    return {
        "child": {
            "given_name": given,
            "family_name": NAMES["family"],
            "sex": "female",
            "estimated_age": 9,
            "other_names": [NAMES["other"]],
            "father_name": father,
            "grandfather_name": NAMES["grandfather"],
            "mother_name": NAMES["mother"],
        },
        "location": {"governorate": "Duhok", "district": "Zakho"},
        "caregivers": [],
        "separation_status": "separated",
        "protection_concerns": [],
        "risk_level": "medium",
    }


def _enquiry(names: list[str], father: str) -> dict[str, Any]:
    return {
        "enquirer": {
            "name": OTHER["enquirer"],
            "relationship": OTHER["relationship"],
            "phone": OTHER["phone"],
            "location": OTHER["place"],
        },
        "sought": {
            "names": names,
            "father_name": father,
            "grandfather_name": NAMES["grandfather"],
            "mother_name": NAMES["mother"],
            "sex": "female",
            "estimated_age": 9,
            "last_seen_place": OTHER["place"],
            "last_seen_on": "2024-02-03",
        },
        "circumstances": OTHER["circumstances"],
    }


@pytest.fixture
def workload(fresh_runtime: Runtime) -> Runtime:
    settings = fresh_runtime.settings
    with fresh_runtime.session_factory() as session:
        agency = make_agency(session)
        worker = make_user(session, agency, Role.CASEWORKER)
        boss = make_user(session, agency, Role.SUPERVISOR)
        worker_h = user_headers(session, worker, settings)
        boss_h = user_headers(session, boss, settings)
        session.commit()
    client = TestClient(create_app(runtime=fresh_runtime), raise_server_exceptions=False)
    case = client.post(
        f"{API}/cases", json=_case(NAMES["given"], NAMES["father"]), headers=worker_h
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    request = client.post(
        f"{API}/tracing-requests",
        json=_enquiry([f"{NAMES['given']} {NAMES['father']}", NAMES["given_ar"]], NAMES["father"]),
        headers=worker_h,
    )
    assert request.status_code == 201, request.text
    request_id = request.json()["id"]
    matches = client.get(f"{API}/tracing-requests/{request_id}/matches", headers=boss_h).json()
    assert [item["case_id"] for item in matches["items"]] == [case_id]
    # A case registered in other scripts is matched against the open request.
    other = client.post(
        f"{API}/cases", json=_case(NAMES["given_ar"], NAMES["father_ku"]), headers=worker_h
    )
    assert other.status_code == 201
    path = f"{API}/tracing-requests/{request_id}"
    confirmed = client.post(
        f"{path}/matches/{case_id}/confirm", json={"note": OTHER["note"]}, headers=boss_h
    )
    assert confirmed.status_code == 200, confirmed.text
    reunified = client.post(
        f"{path}/reunify",
        json={"reunified_on": "2025-03-04", "with": "relatives", "note": OTHER["reunion"]},
        headers=boss_h,
    )
    assert reunified.status_code == 200, reunified.text
    second = client.post(
        f"{API}/tracing-requests",
        json=_enquiry([NAMES["father_ku"]], NAMES["given_ar"]),
        headers=worker_h,
    )
    closed = client.post(
        f"{API}/tracing-requests/{second.json()['id']}/close",
        json={"reason": OTHER["reason"]},
        headers=worker_h,
    )
    assert closed.status_code == 200
    # The values really are stored: they come back decrypted.
    got = client.get(path, headers=worker_h).json()
    assert got["reunification"]["note"] == OTHER["reunion"]
    assert got["enquirer"]["phone"] == OTHER["phone"]
    return fresh_runtime


def _codes() -> dict[str, set[str]]:
    """Unkeyed codes of each marker name: skeletons and phonetic codes of its units."""
    codes: dict[str, set[str]] = {}
    for key, value in NAMES.items():
        for unit in name_units(value):
            codes.setdefault(key, set()).update(skeletons(unit) | phonetics(unit))
    return codes


def _untruncated(runtime: Runtime) -> dict[str, set[str]]:
    """Full-length HMACs (hex) of every marker code under every tracing key."""
    keys = TracingKeys(runtime.keyring)
    found: dict[str, set[str]] = {}
    for key, codes in _codes().items():
        for code in codes:
            for name_field in NameField:
                for kind in KeyKind:
                    digest = hmac.new(
                        keys.key(name_field, kind), code.encode("utf-8"), hashlib.sha256
                    ).hexdigest()
                    found.setdefault(key, set()).update({digest, digest[:16]})
    return found


def _needles(runtime: Runtime) -> dict[str, list[bytes]]:
    needles: dict[str, list[bytes]] = {}
    for key, value in {**NAMES, **OTHER}.items():
        forms = {value, normalise(value), value.lower(), value.upper()}
        forms |= {pivot(unit) for unit in name_units(value) if len(pivot(unit)) >= 6}
        needles[key] = [form.encode("utf-8") for form in forms if form]
        needles[key] += [form.encode("utf-16-le") for form in forms if len(form) > 3]
    for key, codes in _codes().items():
        needles[f"{key}:code"] = [code.encode("ascii") for code in codes if len(code) >= 5]
    for key, digests in _untruncated(runtime).items():
        needles[f"{key}:hmac"] = [digest.encode("ascii") for digest in digests]
    return needles


def _leaks(runtime: Runtime, data: bytes, *, hexed: bool = False) -> list[str]:
    found = []
    for key, forms in _needles(runtime).items():
        for form in forms:
            if form in data or (hexed and form.hex().encode("ascii") in data.lower()):
                found.append(key)
                break
    return found


def test_tokens_are_truncated_to_the_budget(workload: Runtime) -> None:
    budget = plan(workload.settings.planned_case_count)
    with workload.session_factory() as session:
        for model in (CaseTracingToken, TracingRequestToken):
            rows = session.execute(select(model.kind, model.token)).all()
            assert rows
            for kind, token in rows:
                assert len(token) == hex_length(budget.bits[KeyKind(kind)])
                assert int(token, 16) < 2 ** budget.bits[KeyKind(kind)]


def test_the_codes_are_long_enough_to_search_for() -> None:
    codes = _codes()
    for key in ("given", "father", "grandfather", "mother", "family", "other"):
        assert any(len(code) >= 5 for code in codes[key]), key


def test_no_name_code_or_token_in_the_sqlite_files(workload: Runtime) -> None:
    if is_postgres():
        pytest.skip("SQLite files exist only on the SQLite backend (PostgreSQL: pg_dump test)")
    database = make_url(workload.settings.database_url).database
    assert database
    path = Path(database)
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    data = b"".join(p.read_bytes() for p in files)
    assert b"TR-" in data  # a plain value we did write is found
    assert _leaks(workload, data) == []


@pytest.mark.postgres_only
def test_no_name_code_or_token_in_a_pg_dump(workload: Runtime) -> None:
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
    assert b"CREATE TABLE public.tracing_requests" in dump
    assert b"TR-" in dump
    assert _leaks(workload, dump, hexed=True) == []


def test_the_leak_check_finds_codes_and_hmacs(workload: Runtime) -> None:
    code = next(c for c in _codes()["father"] if len(c) >= 5)
    assert "father:code" in _leaks(workload, b"xx" + code.encode() + b"yy")
    digest = next(iter(_untruncated(workload)["mother"]))
    assert "mother:hmac" in _leaks(workload, b"\x00" + digest.encode() + b"\x00")
