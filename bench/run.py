"""`make bench` / `make bench-full`: seed (once), run every benchmark interleaved against the
baseline, write `bench/results/latest.json`, print the Markdown table.

    python -m bench [--profile bench|bench-full] [--only read,update,...] [--reseed]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine

from bench import chaincheck, keyrings, loadgen, micro, sqlite_copy
from bench.baseline.seed import seed_baseline
from bench.config import (
    BASELINE_DB,
    CACHE_DIR,
    DATASET_VERSION,
    HAVEN_DB,
    MAX_OVERFLOW,
    POOL_SIZE,
    PROFILES,
    RESULTS_DIR,
    Profile,
    database_url,
)
from bench.dbutil import (
    drop_marker,
    read_marker,
    recreate_database,
    source_fingerprint,
    write_marker,
)
from bench.httpclient import HttpClient
from bench.machine import machine_details
from bench.seed_haven import haven_settings, seed_audit, seed_haven
from bench.servers import (
    Server,
    postgres_cpu,
    postgres_cpu_since,
    start_baseline,
    start_haven,
)
from bench.targets import (
    Targets,
    baseline_targets,
    baseline_targets_sqlite,
    haven_targets,
    load_versions,
    load_versions_engine,
)
from models.db import make_engine, make_session_factory
from services.audit import install_chain_hook
from services.crypto import init_keyring

HTTP = (
    "read",
    "update",
    "list",
    "search",
    "intake",
    "namesakes",
    "assessment",
    "plan",
    "follow_up",
)
ALL = (*HTTP, "sqlite", "audit", "verify", "crypto", "shipped", "keyring")
KIND_LABELS = {"namesakes": "intake, namesakes"}
OPEN_LOOP_FRACTION = 0.5
"""The open-loop rate: this share of the slower side's median closed-loop throughput."""
VERIFY_TARGET = 0.8
"""Audit verify events/s over the bare read-rows-and-sha256 loop's (`micro.audit_verify`)."""

HAVEN_SOURCES = [
    "migrations/versions",
    "models",
    "services/crypto",
    "services/cases/content.py",
    "services/cases/search_index.py",
    "services/audit/chain.py",
    "bench/seed_haven.py",
    "bench/plan.py",
    "bench/dataset.py",
]
BASELINE_SOURCES = ["bench/baseline", "bench/plan.py", "bench/dataset.py"]


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- datasets ------------------------------------------------------------------------------------
def ensure_datasets(profile: Profile, haven_db: str, baseline_db: str, reseed: bool) -> dict:
    settings = haven_settings(haven_db)
    keyring = init_keyring(settings)  # creates bench/cache/keyring.json (0600) when absent
    keyring_id = keyring.signing_public_key().hex()[:16]
    info: dict[str, Any] = {}
    for name, sources, extra, seed in (
        (haven_db, HAVEN_SOURCES, {"keyring": keyring_id}, seed_haven),
        (baseline_db, BASELINE_SOURCES, {}, seed_baseline),
    ):
        want = {
            "dataset_version": DATASET_VERSION,
            "cases": profile.cases,
            "sources": source_fingerprint(sources),
            **extra,
        }
        marker = read_marker(name)
        if not reseed and marker and all(marker.get(k) == v for k, v in want.items()):
            log(f"{name}: cached dataset ({profile.cases} cases, seeded {marker['seeded_at']})")
            info[name] = marker
            continue
        why = "forced" if reseed else ("absent" if marker is None else "size or code changed")
        log(f"{name}: seeding {profile.cases} cases ({why})")
        drop_marker(name)
        recreate_database(name)
        started = time.perf_counter()
        seed(name, profile.cases, log)
        marker = {
            **want,
            "seeded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed_seconds": round(time.perf_counter() - started, 1),
        }
        write_marker(name, marker)
        info[name] = marker
    return info


def ensure_audit_db(events: int, reseed: bool) -> tuple[str, dict[str, Any]]:
    name = f"{HAVEN_DB}_audit_{events}"
    want = {
        "dataset_version": DATASET_VERSION,
        "audit_events": events,
        "sources": source_fingerprint(HAVEN_SOURCES),
    }
    marker = read_marker(name)
    if not reseed and marker and all(marker.get(k) == v for k, v in want.items()):
        log(f"{name}: cached chain of {events} events")
        return name, marker
    log(f"{name}: seeding a chain of {events} events")
    drop_marker(name)
    recreate_database(name)
    seed_audit(name, events, log)
    marker = {**want, "seeded_at": datetime.now(UTC).isoformat(timespec="seconds")}
    write_marker(name, marker)
    return name, marker


# --- request functions ---------------------------------------------------------------------------
def reader(t: Targets) -> loadgen.RequestFn:
    async def fn(client: HttpClient, worker: int, n: int) -> int:
        user, case_id = t.pairs[(worker * 7919 + n) % len(t.pairs)]
        return (await client.get(f"/api/v1/cases/{case_id}", headers=t.auth(user))).status

    return fn


def updater(t: Targets, concurrency: int | None) -> loadgen.RequestFn:
    """PATCH with If-Match. Closed loop: worker w only touches pairs k with k % concurrency == w
    (no two in flight on one case). Open loop: request n takes pair n, far apart in time."""

    async def fn(client: HttpClient, worker: int, n: int) -> int:
        if concurrency:
            mine = range(worker, len(t.pairs), concurrency)
            index = mine[n % len(mine)]
        else:
            index = n % len(t.pairs)
        user, case_id = t.pairs[index]
        version = t.versions.get(case_id, 1)
        body = t.patch_bodies[n % len(t.patch_bodies)]
        response = await client.request(
            "PATCH",
            f"/api/v1/cases/{case_id}",
            headers={**t.auth(user), "If-Match": f'"{version}"'},
            body=body,
        )
        if response.status == 200:
            t.versions[case_id] = int(response.headers["etag"].strip('W/"'))
        elif response.status == 412:  # someone else moved it: re-read (counted as an error)
            fresh = await client.get(f"/api/v1/cases/{case_id}", headers=t.auth(user))
            if fresh.status == 200:
                t.versions[case_id] = int(fresh.headers["etag"].strip('W/"'))
        return response.status

    return fn


def lister(t: Targets) -> loadgen.RequestFn:
    users = t.users

    async def fn(client: HttpClient, worker: int, n: int) -> int:
        user = users[(worker * 31 + n) % len(users)]
        return (await client.get("/api/v1/cases?limit=50", headers=t.auth(user))).status

    return fn


def searcher(t: Targets) -> loadgen.RequestFn:
    async def fn(client: HttpClient, worker: int, n: int) -> int:
        user, case_id = t.pairs[(worker * 7919 + n) % len(t.pairs)]
        name = quote(t.names[case_id])
        response = await client.get(f"/api/v1/cases?name={name}", headers=t.auth(user))
        if response.status == 200 and not response.json()["items"]:
            return 599  # a search that finds nothing is a failure, not a fast answer
        return response.status

    return fn


def intaker(t: Targets, namesakes: bool = False) -> loadgen.RequestFn:
    """Intake with realistic names, or (`namesakes`) every child one of a handful of full
    names, so each intake's duplicate check meets a growing crowd of namesakes."""
    users = t.users
    bodies = t.namesake_bodies if namesakes else t.intake_bodies

    async def fn(client: HttpClient, worker: int, n: int) -> int:
        user = users[(worker * 31 + n) % len(users)]
        body = bodies[(worker * 997 + n) % len(bodies)]
        return (await client.post("/api/v1/cases", headers=t.auth(user), body=body)).status

    return fn


# --- casework writes: an assessment, a plan update (If-Match), a follow-up ------------------------
CASEWORK_CASES = 256
"""Cases the plan benchmark works on (each gets one assessment first, on both sides)."""


def _day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def assessment_body(n: int) -> bytes:
    body = {
        "kind": "review" if n % 3 else "initial",
        "completed_on": _day(0),
        "domains": [
            {
                "domain": "psychosocial",
                "severity": "high",
                "needs": ["psychosocial_support"],
                "observations": f"Nightmares since return; withdrawn at school ({n}).",
            },
            {"domain": "education", "severity": "medium", "needs": ["education_catch_up"]},
        ],
        "child_views": "Wants to go back to school with her cousins.",
        "caregiver_views": "Her aunt worries about her sleep.",
    }
    return json.dumps(body, ensure_ascii=False).encode()


def plan_body(n: int) -> bytes:
    body = {
        "goals": [
            {
                "need": "psychosocial_support",
                "description": f"Sleeps through the night and feels safe (revision {n}).",
                "actions": [
                    {
                        "description": "Group sessions with the psychosocial partner",
                        "responsible": "partner",
                        "service_type": "mhpss",
                        "due_on": _day(7 + n % 7),
                        "status": "in_progress" if n % 2 else "planned",
                    },
                    {
                        "description": "Enrol her in the catch-up class",
                        "responsible": "caseworker",
                        "service_type": "education",
                        "due_on": _day(14),
                        "status": "planned",
                    },
                ],
            }
        ],
        "review_due_on": _day(25),
    }
    return json.dumps(body, ensure_ascii=False).encode()


def follow_up_body(n: int) -> bytes:
    body = {
        "happened_on": _day(0),
        "mode": ("home_visit", "phone", "office", "remote")[n % 4],
        "observations": f"Sleeping better; goes to class; visit {n}.",
        "wellbeing": ("improved", "same", "worse")[n % 3],
        "next_due_on": _day(7 + n % 14),
    }
    return json.dumps(body, ensure_ascii=False).encode()


def _pair(t: Targets, worker: int, n: int, concurrency: int | None, pairs: int) -> Any:
    """Closed loop: worker w only touches pairs k with k % concurrency == w (no two requests in
    flight on one case, as a caseworker works); open loop: request n takes pair n."""
    if concurrency:
        mine = range(worker, pairs, concurrency)
        return t.pairs[mine[n % len(mine)]]
    return t.pairs[n % pairs]


def assessor(t: Targets, concurrency: int | None) -> loadgen.RequestFn:
    async def fn(client: HttpClient, worker: int, n: int) -> int:
        user, case_id = _pair(t, worker, n, concurrency, len(t.pairs))
        return (
            await client.post(
                f"/api/v1/cases/{case_id}/assessments",
                headers=t.auth(user),
                body=assessment_body(n),
            )
        ).status

    return fn


def planner(t: Targets, concurrency: int | None) -> loadgen.RequestFn:
    """PUT the plan with the version last seen (none for a case without a plan yet)."""

    async def fn(client: HttpClient, worker: int, n: int) -> int:
        user, case_id = _pair(t, worker, n, concurrency, min(CASEWORK_CASES, len(t.pairs)))
        headers = t.auth(user)
        version = t.plan_versions.get(case_id)
        if version is not None:
            headers = {**headers, "If-Match": f'"{version}"'}
        response = await client.request(
            "PUT", f"/api/v1/cases/{case_id}/plan", headers=headers, body=plan_body(n)
        )
        if response.status == 200:
            t.plan_versions[case_id] = int(response.headers["etag"].strip('W/"'))
        elif response.status in (412, 428):  # re-read (counted as an error)
            fresh = await client.get(f"/api/v1/cases/{case_id}/plan", headers=t.auth(user))
            if fresh.status == 200:
                t.plan_versions[case_id] = int(fresh.headers["etag"].strip('W/"'))
        return response.status

    return fn


def follower(t: Targets, concurrency: int | None) -> loadgen.RequestFn:
    async def fn(client: HttpClient, worker: int, n: int) -> int:
        user, case_id = _pair(t, worker, n, concurrency, len(t.pairs))
        return (
            await client.post(
                f"/api/v1/cases/{case_id}/follow-ups",
                headers=t.auth(user),
                body=follow_up_body(n),
            )
        ).status

    return fn


def prepare_plans(port: int, t: Targets) -> None:
    """One assessment on each case the plan benchmark uses (its goals answer assessed needs),
    and the current plan version of each, if any."""
    import urllib.error
    import urllib.request

    for n, (user, case_id) in enumerate(t.pairs[:CASEWORK_CASES]):
        base = f"http://127.0.0.1:{port}/api/v1/cases/{case_id}"
        headers = {**t.auth(user), "Content-Type": "application/json"}
        request = urllib.request.Request(  # noqa: S310 (loopback)
            f"{base}/assessments", data=assessment_body(n), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            assert answer.status == 201
        current = urllib.request.Request(f"{base}/plan", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(current, timeout=30) as answer:  # noqa: S310
                t.plan_versions[case_id] = int(answer.headers["etag"].strip('W/"'))
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise


# --- one HTTP benchmark ------------------------------------------------------------------------
def _slim(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "latencies_ms"}


def http_bench(
    name: str,
    concurrency: int,
    profile: Profile,
    servers: tuple[Server, Server],
    fns: tuple[Callable[[], loadgen.RequestFn], Callable[[], loadgen.RequestFn]],
    open_fns: tuple[Callable[[], loadgen.RequestFn], Callable[[], loadgen.RequestFn]] | None = None,
) -> dict[str, Any]:
    """Closed loop at `concurrency`, rounds interleaved Haven/baseline; then the open loop at a
    fixed rate below saturation, also interleaved, latencies pooled per side."""
    out: dict[str, Any] = {"name": name, "concurrency": concurrency}
    sides = ("haven", "baseline")
    rounds: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
    for r in range(profile.rounds):
        for side, server, make in zip(sides, servers, fns, strict=True):
            cpu0, pg0 = server.cpu_seconds(), postgres_cpu()
            result = loadgen.closed_loop(
                server.port,
                make(),
                concurrency=concurrency,
                seconds=profile.seconds,
                warmup=profile.warmup,
            )
            # CPU per request over the whole round (warm-up included, so slightly high)
            total = (
                max(1, result["requests"]) * (profile.seconds + profile.warmup) / profile.seconds
            )
            result["server_cpu_ms_per_request"] = (server.cpu_seconds() - cpu0) * 1000 / total
            result["postgres_cpu_ms_per_request"] = postgres_cpu_since(pg0) * 1000 / total
            rounds[side].append(result)
            log(
                f"  {name} c={concurrency} round {r + 1} {side}: {result['throughput']:.1f}/s "
                f"(errors {result['errors']}, cpu/req: server "
                f"{result['server_cpu_ms_per_request']:.2f} ms, postgres "
                f"{result['postgres_cpu_ms_per_request']:.2f} ms, client "
                f"{result['client_cpu_share']:.2f} of a core)"
            )
    for side in sides:
        tputs = [x["throughput"] for x in rounds[side]]
        out[side] = {
            "throughput_median": statistics.median(tputs),
            "server_cpu_ms_per_request": statistics.median(
                x["server_cpu_ms_per_request"] for x in rounds[side]
            ),
            "postgres_cpu_ms_per_request": statistics.median(
                x["postgres_cpu_ms_per_request"] for x in rounds[side]
            ),
            "rounds": rounds[side],
        }
    h, b = out["haven"]["throughput_median"], out["baseline"]["throughput_median"]
    out["ratio"] = h / b if b else float("nan")

    rate = max(5.0, round(OPEN_LOOP_FRACTION * min(h, b), 1))
    pooled: dict[str, list[float]] = {s: [] for s in sides}
    open_rounds: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
    for _ in range(profile.open_loop_rounds):
        for side, server, make in zip(sides, servers, open_fns or fns, strict=True):
            result = loadgen.open_loop(
                server.port, make(), rate=rate, seconds=profile.open_loop_seconds
            )
            pooled[side].extend(result["latencies_ms"])
            open_rounds[side].append(_slim(result))
    latency: dict[str, Any] = {"rate": rate}
    for side in sides:
        values = pooled[side]
        latency[side] = {
            "p50_ms": loadgen.percentile(values, 50),
            "p99_ms": loadgen.percentile(values, 99),
            "samples": len(values),
            "errors": sum(x["errors"] for x in open_rounds[side]),
            "rounds": open_rounds[side],
        }
    latency["p99_ratio"] = latency["haven"]["p99_ms"] / latency["baseline"]["p99_ms"]
    out["latency"] = latency
    log(
        f"  {name}: ratio {out['ratio']:.2f}; open loop at {rate}/s p99 "
        f"{latency['haven']['p99_ms']:.1f} ms vs {latency['baseline']['p99_ms']:.1f} ms"
    )
    return out


def http_benches(
    only: set[str],
    profile: Profile,
    servers: tuple[Server, Server],
    h_targets: Targets,
    b_targets: Targets,
    haven_engine: Any,
    settings: Any,
    keyring: Any,
    versions: Callable[[], None],
    update_clients: tuple[int, ...] = (16, 64),
) -> list[dict[str, Any]]:
    """The HTTP benchmarks named in `only`, against running servers (either database)."""
    haven, baseline = servers
    http: list[dict[str, Any]] = []
    if "read" in only:
        log("read one case")
        http.append(
            http_bench(
                "read",
                32,
                profile,
                servers,
                (lambda: reader(h_targets), lambda: reader(b_targets)),
            )
        )
    if "update" in only:
        for concurrency in update_clients:
            log(f"update at {concurrency} clients")
            versions()
            before = chaincheck.head_seq(haven_engine)
            bench = http_bench(
                "update",
                concurrency,
                profile,
                servers,
                (
                    lambda c=concurrency: updater(h_targets, c),
                    lambda c=concurrency: updater(b_targets, c),
                ),
                open_fns=(
                    lambda: updater(h_targets, None),
                    lambda: updater(b_targets, None),
                ),
            )
            bench["chain"] = chaincheck.check_since(haven_engine, before, settings, keyring)
            log(f"  chain after update c={concurrency}: {bench['chain']}")
            http.append(bench)
    if "list" in only:
        log("list 50 cases")
        http.append(
            http_bench(
                "list",
                16,
                profile,
                servers,
                (lambda: lister(h_targets), lambda: lister(b_targets)),
            )
        )
    if "search" in only:
        log("search by name")
        http.append(
            http_bench(
                "search",
                16,
                profile,
                servers,
                (lambda: searcher(h_targets), lambda: searcher(b_targets)),
            )
        )
    if "intake" in only:
        log("intake")
        http.append(
            http_bench(
                "intake",
                16,
                profile,
                servers,
                (lambda: intaker(h_targets), lambda: intaker(b_targets)),
            )
        )
    if "namesakes" in only:
        log("intake, every child one of a handful of full names")
        http.append(
            http_bench(
                "namesakes",
                16,
                profile,
                servers,
                (
                    lambda: intaker(h_targets, namesakes=True),
                    lambda: intaker(b_targets, namesakes=True),
                ),
            )
        )
    casework = (
        ("assessment", assessor),
        ("plan", planner),
        ("follow_up", follower),
    )
    for name, make in casework:
        if name not in only:
            continue
        log(f"casework write: {name}")
        if name == "plan":
            prepare_plans(haven.port, h_targets)
            prepare_plans(baseline.port, b_targets)
        before = chaincheck.head_seq(haven_engine)
        bench = http_bench(
            name,
            16,
            profile,
            servers,
            (
                lambda m=make: m(h_targets, 16),  # type: ignore[misc]
                lambda m=make: m(b_targets, 16),  # type: ignore[misc]
            ),
            open_fns=(
                lambda m=make: m(h_targets, None),  # type: ignore[misc]
                lambda m=make: m(b_targets, None),  # type: ignore[misc]
            ),
        )
        bench["chain"] = chaincheck.check_since(haven_engine, before, settings, keyring)
        log(f"  chain after {name}: {bench['chain']}")
        http.append(bench)
    return http


SQLITE_HTTP = ("read", "update", "list", "search", "intake", "namesakes")
"""The benchmarks also run on SQLite (casework writes run on PostgreSQL only)."""
SQLITE_AUDIT_EVENTS = 200_000
"""Audit events copied into Haven's SQLite dataset (a prefix of the PostgreSQL chain)."""


def sqlite_benches(
    only: set[str],
    profile: Profile,
    haven_db: str,
    baseline_db: str,
    reseed: bool,
    keyring: Any,
) -> list[dict[str, Any]]:
    """The main HTTP benchmarks again, both apps on SQLite files copied from the PostgreSQL
    datasets (cached behind a marker like them); fewer rounds, one update concurrency."""
    h_name, b_name = f"{haven_db}_sqlite", f"{baseline_db}_sqlite"
    settings = haven_settings(h_name).model_copy(
        update={"database_url": sqlite_copy.sqlite_url(h_name)}
    )
    sources = source_fingerprint(HAVEN_SOURCES + BASELINE_SOURCES + ["bench/sqlite_copy.py"])
    want = {
        "dataset_version": DATASET_VERSION,
        "cases": profile.cases,
        "sources": sources,
        "from": [read_marker(haven_db), read_marker(baseline_db)],
    }
    marker_name = f"{h_name}_and_baseline"
    marker = read_sqlite_marker(marker_name)
    if reseed or marker != want or not sqlite_copy.sqlite_path(h_name).exists():
        log("SQLite: copying the datasets")
        sqlite_copy.copy_haven(haven_db, h_name, settings, keyring, SQLITE_AUDIT_EVENTS, log)
        sqlite_copy.copy_baseline(baseline_db, b_name, log)
        write_sqlite_marker(marker_name, want)
    else:
        log("SQLite: cached copies")
    haven_engine = make_engine(settings.database_url)
    baseline_engine = create_engine(sqlite_copy.sqlite_url(b_name))
    try:
        h_targets = haven_targets(make_session_factory(haven_engine), keyring, settings)
        b_targets = baseline_targets_sqlite(baseline_engine)
        haven = start_haven(
            settings.database_url, settings.key_file, settings.audit_checkpoint_file
        )
        try:
            baseline = start_baseline(sqlite_copy.sqlite_url(b_name))
        except BaseException:
            haven.stop()
            raise

        def versions() -> None:
            load_versions_engine(haven_engine, h_targets, baseline=False)
            load_versions_engine(baseline_engine, b_targets, baseline=True)

        wanted = {name for name in only if name in SQLITE_HTTP}
        short = replace(profile, rounds=2, open_loop_rounds=1)
        try:
            log("SQLite: the main benchmarks on the embedded database")
            benches = http_benches(
                wanted,
                short,
                (haven, baseline),
                h_targets,
                b_targets,
                haven_engine,
                settings,
                keyring,
                versions,
                update_clients=(16,),
            )
        finally:
            haven.stop()
            baseline.stop()
    finally:
        haven_engine.dispose()
        baseline_engine.dispose()
    for bench in benches:
        bench["backend"] = "sqlite"
    return benches


def read_sqlite_marker(name: str) -> Any:
    path = CACHE_DIR / f"{name}.marker.json"
    return json.loads(path.read_text()) if path.exists() else None


def write_sqlite_marker(name: str, marker: dict[str, Any]) -> None:
    (CACHE_DIR / f"{name}.marker.json").write_text(json.dumps(marker, indent=2, sort_keys=True))


# --- as shipped: `haven serve` itself ------------------------------------------------------------
def shipped_check(haven_db: str, targets: Targets) -> dict[str, Any]:
    """One client, sequential keep-alive reads: `haven serve --workers 2` against the same app
    on stock uvicorn multi-worker sockets (Nagle on: ~40 ms per response in delayed ACKs)."""
    settings = haven_settings(haven_db)
    results: dict[str, Any] = {}
    for label, stock in (("haven_serve", False), ("stock_uvicorn", True)):
        server = start_haven(
            settings.database_url,
            settings.key_file,
            settings.audit_checkpoint_file,
            stock_uvicorn=stock,
            name=f"haven-{label}",
        )
        try:
            result = loadgen.closed_loop(
                server.port, reader(targets), concurrency=1, seconds=3.0, warmup=0.5
            )
        finally:
            server.stop()
        results[label] = {
            "p50_ms": result["latency_p50_ms"],
            "throughput": result["throughput"],
        }
    return results


# --- the table -----------------------------------------------------------------------------------
def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:.2f}{unit}" if abs(value) < 10 else f"{value:.1f}{unit}"


def table_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(name: str, haven: Any, base: Any, ratio: Any, target: str, ok: bool | None) -> None:
        rows.append(
            {
                "benchmark": name,
                "haven": haven,
                "baseline": base,
                "ratio": ratio,
                "target": target,
                "pass": ok,
            }
        )

    targets = {
        "read": 0.7,
        "update": 0.7,
        "list": 0.6,
        "search": 0.6,
        "intake": 0.6,
        "namesakes": 0.6,
        "assessment": 0.5,
        "plan": 0.5,
        "follow_up": 0.5,
    }
    for bench in results.get("http", []):
        kind = bench["name"]
        on = ", SQLite" if bench.get("backend") == "sqlite" else ""
        label = f"{KIND_LABELS.get(kind, kind)}{on} (c={bench['concurrency']})"
        need = targets[kind]
        ok = bench["ratio"] >= need
        target = f"≥ {need}"
        if "chain" in bench:
            intact = bench["chain"]["intact"]
            ok = ok and intact
            target += ", chain intact" + ("" if intact else " — BROKEN")
        add(
            f"{label} req/s",
            _fmt(bench["haven"]["throughput_median"]),
            _fmt(bench["baseline"]["throughput_median"]),
            bench["ratio"],
            target,
            ok,
        )
        lat = bench["latency"]
        add(
            f"{KIND_LABELS.get(kind, kind)}{on} p99 @ {lat['rate']}/s open loop (p50 H/B)",
            f"{_fmt(lat['haven']['p99_ms'], ' ms')} ({_fmt(lat['haven']['p50_ms'])})",
            f"{_fmt(lat['baseline']['p99_ms'], ' ms')} ({_fmt(lat['baseline']['p50_ms'])})",
            lat["p99_ratio"],
            "≤ 2.0",
            lat["p99_ratio"] <= 2.0 and lat["haven"]["errors"] == 0,
        )
    for writers, values in results.get("audit_appends", {}).items():
        h = statistics.median(values["haven_per_s"])
        b = statistics.median(values["baseline_per_s"])
        add(f"audit appends/s, {writers} writer(s)", _fmt(h), _fmt(b), h / b, "(report)", None)
    verify = results.get("audit_verify")
    if verify:
        runs = verify["runs"]
        h = statistics.median(r["haven_events_per_s"] for r in runs)
        pure = statistics.median(r["bare_hash_only_events_per_s"] for r in runs)
        read_hash = statistics.median(r["bare_read_hash_events_per_s"] for r in runs)
        valid = all(r["valid"] for r in runs)
        # The target is against reading the same rows and hashing the same bytes: what any
        # verifier must do. Hashing bytes already in memory leaves out reading and encoding the
        # rows (over nine tenths of the time), so no verifier of a database comes near it: it is
        # reported, as a bound, without a target.
        add(
            f"audit verify events/s ({verify['events']:,} events) vs bare read-rows-and-sha256",
            _fmt(h),
            _fmt(read_hash),
            h / read_hash,
            f"≥ {VERIFY_TARGET}" + ("" if valid else " — CHAIN INVALID"),
            h / read_hash >= VERIFY_TARGET and valid,
        )
        add(
            "audit verify vs sha256 over rows already in memory",
            _fmt(h),
            _fmt(pure),
            h / pure,
            "(report)",
            None,
        )
    crypto = results.get("crypto")
    if crypto:
        h = statistics.median(crypto["haven_us_per_record"])
        b = statistics.median(crypto["bare_us_per_record"])
        add(
            "crypto path µs/record (unwrap, 1 KB, HMAC)",
            _fmt(h),
            _fmt(b),
            h / b,
            "≤ 2.0 x",
            h / b <= 2.0,
        )
    if results.get("keyring"):
        rows.extend(keyrings.rows(results["keyring"], _fmt))
    memory = results.get("memory")
    if memory:
        h = memory["haven"]["max_peak_rss_mib"]
        b = memory["baseline"]["max_peak_rss_mib"]
        add("peak RSS per worker (MiB)", _fmt(h), _fmt(b), h / b, "< 150 MiB", h < 150)
    return rows


def cpu_table(results: dict[str, Any]) -> str:
    """Where the time goes: CPU milliseconds per request (medians over rounds)."""
    lines = [
        "| benchmark | Haven server | baseline server | Haven PostgreSQL | baseline PostgreSQL |",
        "|---|---:|---:|---:|---:|",
    ]
    for bench in results.get("http", []):
        h, b = bench["haven"], bench["baseline"]
        sqlite = bench.get("backend") == "sqlite"
        database = (
            "— | —"  # SQLite runs inside the server processes: its CPU is in the server columns
            if sqlite
            else f"{h['postgres_cpu_ms_per_request']:.2f} | {b['postgres_cpu_ms_per_request']:.2f}"
        )
        lines.append(
            f"| {bench['name']}{', SQLite' if sqlite else ''} (c={bench['concurrency']}) | "
            f"{h['server_cpu_ms_per_request']:.2f} | {b['server_cpu_ms_per_request']:.2f} | "
            f"{database} |"
        )
    return "\n".join(lines)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | Haven | baseline | ratio | target | pass |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ok = {True: "PASS", False: "FAIL", None: "—"}[row["pass"]]
        lines.append(
            f"| {row['benchmark']} | {row['haven']} | {row['baseline']} | "
            f"{_fmt(row['ratio'])} | {row['target']} | {ok} |"
        )
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="bench")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated: " + ",".join(ALL))
    parser.add_argument("--reseed", action="store_true", help="drop and re-seed the datasets")
    parser.add_argument("--output", default=str(RESULTS_DIR / "latest.json"))
    args = parser.parse_args()
    profile = PROFILES[args.profile]
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    suffix = {"bench": "", "bench-full": "_full"}.get(profile.name, "_" + profile.name)
    haven_db, baseline_db = HAVEN_DB + suffix, BASELINE_DB + suffix
    started = time.perf_counter()
    install_chain_hook()

    results: dict[str, Any] = {
        "profile": profile.name,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_details(),
        "config": {
            "cases": profile.cases,
            "rounds": profile.rounds,
            "seconds_per_round": profile.seconds,
            "warmup": profile.warmup,
            "open_loop_seconds": profile.open_loop_seconds,
            "open_loop_rounds": profile.open_loop_rounds,
            "open_loop_fraction": OPEN_LOOP_FRACTION,
            "workers": 2,
            "db_pool": [POOL_SIZE, MAX_OVERFLOW],
        },
    }
    log(f"profile {profile.name}: {profile.cases} cases; databases {haven_db}, {baseline_db}")
    if "keyring" in only:
        log("keyring backends: the key file and a PKCS#11 token (SoftHSM)")
        results["keyring"] = keyrings.keyring_backends(haven_db)
    if only <= {"keyring"}:  # nothing else asked for: no datasets to seed
        finish(results, args.output, started)
        return
    results["datasets"] = ensure_datasets(profile, haven_db, baseline_db, args.reseed)

    settings = haven_settings(haven_db)
    keyring = init_keyring(settings)
    haven_engine = make_engine(settings.database_url, pool_size=20, max_overflow=5)
    haven_factory = make_session_factory(haven_engine)
    baseline_engine = create_engine(database_url(baseline_db), pool_size=20, max_overflow=5)
    h_targets = haven_targets(haven_factory, keyring, settings)
    b_targets = baseline_targets(baseline_db)
    log(f"targets: {len(h_targets.users)} users, {len(h_targets.pairs)} cases each side")

    http_wanted = [x for x in HTTP if x in only]
    if http_wanted:
        haven = start_haven(
            settings.database_url, settings.key_file, settings.audit_checkpoint_file
        )
        try:
            baseline = start_baseline(database_url(baseline_db))
        except BaseException:
            haven.stop()
            raise
        servers = (haven, baseline)

        def pg_versions() -> None:
            load_versions(haven_db, h_targets)
            load_versions(baseline_db, b_targets)

        try:
            results["http"] = http_benches(
                only,
                profile,
                servers,
                h_targets,
                b_targets,
                haven_engine,
                settings,
                keyring,
                pg_versions,
            )
        finally:
            results["memory"] = {"haven": haven.memory(), "baseline": baseline.memory()}
            haven.stop()
            baseline.stop()
    if "sqlite" in only and http_wanted:
        results["http"] = results.get("http", []) + sqlite_benches(
            only, profile, haven_db, baseline_db, args.reseed, keyring
        )

    if "shipped" in only:
        log("one client: `haven serve --workers 2` vs stock uvicorn sockets")
        results["as_shipped"] = shipped_check(haven_db, h_targets)
        log(f"  {results['as_shipped']}")
    if "audit" in only:
        log("audit appends at 1, 4, 16 writers")
        results["audit_appends"] = micro.audit_appends(
            haven_factory, baseline_engine, (1, 4, 16), profile.append_seconds, profile.rounds
        )
    if "verify" in only:
        log(f"audit verify over {profile.verify_events} events")
        audit_db, marker = ensure_audit_db(profile.verify_events, args.reseed)
        results["datasets"][audit_db] = marker
        audit_settings = haven_settings(audit_db)
        audit_engine = make_engine(audit_settings.database_url)
        results["audit_verify"] = micro.audit_verify(
            audit_engine,
            audit_db,
            audit_settings,
            keyring,
            rounds=2 if profile.name != "bench-full" else 3,
        )
        audit_engine.dispose()
    if "crypto" in only:
        log("crypto path per record")
        results["crypto"] = micro.crypto_path(keyring, settings, profile.crypto_records, 5)
    haven_engine.dispose()
    baseline_engine.dispose()

    finish(results, args.output, started)


def finish(results: dict[str, Any], output: str, started: float) -> None:
    """The table, the results file, the printout."""
    rows = table_rows(results)
    results["table"] = rows
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    results["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as handle:
        json.dump(results, handle, indent=2, default=str)
    print()
    print(markdown(rows))
    if results.get("http"):
        print()
        print(
            "CPU milliseconds per request (server: both uvicorn workers; PostgreSQL: all backends)"
        )
        print()
        print(cpu_table(results))
    if "as_shipped" in results:
        shipped = results["as_shipped"]
        print()
        print(
            "One client, keep-alive reads: `haven serve --workers 2` p50 "
            f"{shipped['haven_serve']['p50_ms']:.1f} ms; the same app on stock uvicorn "
            f"multi-worker sockets (Nagle on) p50 {shipped['stock_uvicorn']['p50_ms']:.1f} ms"
        )
    print()
    log(f"done in {results['seconds']}s; results in {output}")
