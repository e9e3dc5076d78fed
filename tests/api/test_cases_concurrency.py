"""Concurrency with real commits (`fresh_runtime`): concurrent PATCHes on one version (exactly
one wins, the others 412), concurrent intakes (distinct ids and case numbers), concurrent
replays of one Idempotency-Key (one case), and erasure surviving a key rotation."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from models.cases import Case, CaseSearchToken
from models.keys import DataKey
from services.crypto import KeyringError, load_data_key
from services.keys.rotation import rotate
from services.policy import Role
from services.runtime import Runtime
from tests.api.test_cases_helpers import body
from tests.factories import API, make_agency, make_user, user_headers

THREADS = 6


@dataclass
class Setup:
    runtime: Runtime
    app: FastAPI
    worker: dict[str, str]
    boss: dict[str, str]


@pytest.fixture
def setup(fresh_runtime: Runtime) -> Setup:
    with fresh_runtime.session_factory() as session:
        agency = make_agency(session)
        worker = user_headers(
            session, make_user(session, agency, Role.CASEWORKER), fresh_runtime.settings
        )
        boss = user_headers(
            session, make_user(session, agency, Role.SUPERVISOR), fresh_runtime.settings
        )
        session.commit()
    return Setup(fresh_runtime, create_app(runtime=fresh_runtime), worker, boss)


def in_parallel(
    app: FastAPI, call: Callable[[TestClient, int], httpx.Response]
) -> list[httpx.Response]:
    """Run `call` in THREADS threads released together; each thread has its own client."""
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(index: int) -> None:
        client = TestClient(app, raise_server_exceptions=False)
        barrier.wait()
        try:
            results[index] = call(client, index)
        except Exception as error:  # noqa: BLE001  surfaced by the assertion below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(r, httpx.Response) for r in results), results
    return results


def count_cases(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def test_concurrent_patches_on_one_version_exactly_one_wins(setup: Setup) -> None:
    client = TestClient(setup.app)
    case = client.post(f"{API}/cases", json=body(), headers=setup.worker).json()
    url = f"{API}/cases/{case['id']}"

    def patch(c: TestClient, i: int) -> httpx.Response:
        response: httpx.Response = c.patch(
            url,
            json={"narrative": f"writer {i}"},
            headers={**setup.worker, "If-Match": '"1"'},
        )
        return response

    results = in_parallel(setup.app, patch)
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [412] * (THREADS - 1), codes
    winner = next(r for r in results if r.status_code == 200).json()
    final = client.get(url, headers=setup.worker).json()
    assert final["version"] == 2
    assert final["narrative"] == winner["narrative"]


def test_concurrent_intakes_get_distinct_ids_and_numbers(setup: Setup) -> None:
    def intake(c: TestClient, i: int) -> httpx.Response:
        response: httpx.Response = c.post(
            f"{API}/cases", json=body(f"Child{i}"), headers=setup.worker
        )
        return response

    results = in_parallel(setup.app, intake)
    assert [r.status_code for r in results] == [201] * THREADS
    cases = [r.json() for r in results]
    assert len({c["id"] for c in cases}) == THREADS
    assert len({c["case_number"] for c in cases}) == THREADS
    assert count_cases(setup.runtime) == THREADS


def test_two_agencies_number_from_one_and_concurrent_intakes_never_collide(
    setup: Setup,
) -> None:
    """Threads of two agencies register at once: each agency's numbers are 1..n of this year,
    none repeats within an agency, and the second agency's do not continue the first's."""
    with setup.runtime.session_factory() as session:
        other = user_headers(
            session,
            make_user(session, make_agency(session), Role.CASEWORKER),
            setup.runtime.settings,
        )
        session.commit()
    headers = [setup.worker, other]

    def intake(c: TestClient, i: int) -> httpx.Response:
        response: httpx.Response = c.post(
            f"{API}/cases", json=body(f"Child{i}"), headers=headers[i % 2]
        )
        return response

    results = in_parallel(setup.app, intake) + in_parallel(setup.app, intake)
    assert [r.status_code for r in results] == [201] * 2 * THREADS
    by_agency: dict[str, list[str]] = {}
    for case in (r.json() for r in results):
        by_agency.setdefault(case["agency_id"], []).append(case["case_number"])
    assert len(by_agency) == 2
    year = results[0].json()["created_at"][:4]
    for numbers in by_agency.values():
        assert sorted(numbers) == [f"HVN-{year}-{n:06d}" for n in range(1, THREADS + 1)]
    with setup.runtime.session_factory() as session:
        stored = session.execute(select(Case.agency_id, Case.case_number)).all()
    assert sorted((str(a), n) for a, n in stored) == sorted(
        (agency, n) for agency, numbers in by_agency.items() for n in numbers
    )


def test_concurrent_replays_of_one_key_create_one_case(setup: Setup) -> None:
    def intake(c: TestClient, i: int) -> httpx.Response:  # noqa: ARG001  in_parallel's signature
        response: httpx.Response = c.post(
            f"{API}/cases", json=body(), headers={**setup.worker, "Idempotency-Key": "same-key"}
        )
        return response

    results = in_parallel(setup.app, intake)
    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert count_cases(setup.runtime) == 1


def test_erased_case_stays_gone_after_key_rotation(setup: Setup) -> None:
    runtime = setup.runtime
    client = TestClient(setup.app)
    kept = client.post(f"{API}/cases", json=body("Kept"), headers=setup.worker).json()
    gone = client.post(f"{API}/cases", json=body("Gone"), headers=setup.worker).json()
    with runtime.session_factory() as session:
        row = session.get(Case, uuid.UUID(gone["id"]))
        assert row is not None
        gone_key = row.data_key_id
    erased = client.request(
        "DELETE", f"{API}/cases/{gone['id']}", json={"reason": "Test erasure"}, headers=setup.boss
    )
    assert erased.status_code == 204
    before = runtime.keyring.current_kek_version()
    result = rotate(runtime.session_factory, runtime.keyring, batch_size=1)
    assert runtime.keyring.current_kek_version() == before + 1
    assert result.rewrapped >= 1
    with runtime.session_factory() as session:
        key = session.get(DataKey, gone_key)
        assert key is not None and key.wrapped_key is None
        with pytest.raises(KeyringError):
            load_data_key(session, runtime.keyring, gone_key)
        assert session.get(Case, uuid.UUID(gone["id"])) is None
        tokens = session.scalar(
            select(func.count())
            .select_from(CaseSearchToken)
            .where(CaseSearchToken.case_id == uuid.UUID(gone["id"]))
        )
        assert tokens == 0
    for headers in (setup.worker, setup.boss):
        assert client.get(f"{API}/cases/{gone['id']}", headers=headers).status_code == 404
        found = client.get(f"{API}/cases", params={"name": "Gone"}, headers=headers).json()
        assert found["items"] == []
    # The surviving case was re-wrapped under the new KEK and still reads.
    assert (
        client.get(f"{API}/cases/{kept['id']}", headers=setup.worker).json()["child"]["given_name"]
        == "Kept"
    )
