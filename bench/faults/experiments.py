"""The experiments. Each builds a fresh deployment, runs load, injects one fault, lets the load
carry on, settles (retries every write whose answer was lost), then checks and verifies."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.faults.check import check
from bench.faults.cluster import PrivateCluster
from bench.faults.haven import (
    HAVEN,
    IDLE_TIMEOUT,
    LOCK_TIMEOUT,
    REPO,
    Deployment,
    Instance,
    new_name,
)
from bench.faults.load import Ledger, Load

WORKERS = 6
BEFORE = 3.0
"""Seconds of load before the fault."""
AFTER = 5.0
"""Seconds of load after the fault ends."""


@dataclass
class Result:
    name: str
    requests: int = 0
    acked: int = 0
    lost: int = 0
    phantom: int = 0
    unaudited: int = 0
    pending: int = 0
    errors_5xx: int = 0
    errors_500: int = 0
    recovery: float | None = None
    """Seconds from the end of the fault to the next acknowledged write."""
    longest: float = 0.0
    """The longest single request (for the paused instance: on the other instance)."""
    stall: float = 0.0
    """The longest stretch without an acknowledged write, from the fault on (same instances)."""
    verify: str = "-"
    notes: list[str] = field(default_factory=list)
    ok: bool = True


@dataclass
class Run:
    """What an experiment's fault function gets."""

    deployment: Deployment
    instances: list[Instance]
    cluster: PrivateCluster | None
    load: Load
    ledger: Ledger
    rng: random.Random
    fault_started: float = 0.0
    fault_ended: float = 0.0
    watched: str | None = None
    """The instance whose longest request is reported (None: all)."""


Fault = Callable[[Run], None]


def run_experiment(
    name: str,
    fault: Fault,
    *,
    backend: str,
    cluster: PrivateCluster | None,
    folder: Path,
    seed: int,
    instances: int = 1,
    workers_per_instance: int = 1,
    env: dict[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> Result:
    result = Result(name)
    rng = random.Random(seed)
    if backend == "postgresql":
        assert cluster is not None
        url = cluster.create_database(new_name())
    else:
        url = f"sqlite:///{folder / name / 'haven.db'}"
    deployment = Deployment(folder / name, url)
    deployment.env.update(env or {})
    deployment.migrate()
    tokens = deployment.caseworkers(WORKERS)
    servers = [
        Instance(deployment, f"{name}-{chr(ord('a') + n)}", workers=workers_per_instance)
        for n in range(instances)
    ]
    for server in servers:
        server.start()
    ledger = Ledger()
    load = Load(ledger, new_name()[7:], tokens, [(s.name, s.base_url) for s in servers], seed)
    run = Run(deployment, servers, cluster, load, ledger, rng)
    try:
        started = time.monotonic()
        load.start(BEFORE + 30 + AFTER)  # the fault decides how long it lasts; bounded anyway
        time.sleep(BEFORE)
        log(f"  {name}: fault")
        run.fault_started = time.monotonic()
        fault(run)
        run.fault_ended = time.monotonic()
        time.sleep(AFTER)
        for worker in load.workers:  # stop the load now
            worker.sent = 10**9
        load.join()
        log(f"  {name}: settling")
        load.settle()
        findings = check(ledger, url, servers[-1].base_url, tokens)
        result.verify = deployment.verify()
    finally:
        load.close()
        for server in servers:
            server.stop()
    samples = ledger.samples
    result.requests = len(samples)
    result.acked = ledger.acked_writes
    result.errors_5xx = sum(1 for s in samples if s.status >= 500)
    result.errors_500 = sum(1 for s in samples if s.status == 500)
    after = [s.at + s.took for s in samples if s.acked and s.at + s.took >= run.fault_ended]
    result.recovery = (min(after) - run.fault_ended) if after else None
    watched = [s for s in samples if run.watched is None or s.instance == run.watched]
    result.longest = max((s.took for s in watched), default=0.0)
    acks = sorted(s.at + s.took for s in watched if s.acked and s.at + s.took >= run.fault_started)
    gaps = [b - a for a, b in zip([run.fault_started, *acks], acks, strict=False)]
    result.stall = max(gaps, default=0.0)
    result.lost, result.phantom = findings.lost, findings.phantom
    result.unaudited, result.pending = findings.unaudited, findings.pending
    result.notes = findings.notes[:10]
    if ledger.read_errors:
        result.notes.append(f"{ledger.read_errors} read(s) of acknowledged cases failed")
    result.ok = (
        result.lost == 0
        and result.unaudited == 0
        and result.pending == 0
        and result.errors_500 == 0
        and ledger.read_errors == 0
        and result.verify == "valid"
    )
    log(f"  {name}: done in {time.monotonic() - started:.0f} s")
    return result


# --- the faults -------------------------------------------------------------------------------


def pg_restart(run: Run) -> None:
    assert run.cluster is not None
    run.cluster.stop()
    run.cluster.start()


def pg_crash(run: Run) -> None:
    assert run.cluster is not None
    run.cluster.crash()
    run.cluster.start()  # crash recovery from the WAL


def pg_paused(run: Run) -> None:
    """The database stalls (every PostgreSQL process stopped) for a while."""
    assert run.cluster is not None
    run.cluster.pause()
    time.sleep(6)
    run.cluster.resume()


def connection_limit(run: Run) -> None:
    """Someone else takes every free connection for a while, and Haven's own connections are
    dropped (as by a database restart), so Haven must open new ones while the table is full."""
    assert run.cluster is not None
    database = run.deployment.database_url.rsplit("/", 1)[1]
    hogs: list[psycopg.Connection] = []
    try:
        for _ in range(run.cluster.max_connections):
            try:
                hogs.append(psycopg.connect(run.cluster.dsn("postgres"), connect_timeout=3))
            except psycopg.OperationalError:
                break
        if hogs:
            hogs[0].execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )
            hogs[0].commit()
            for _ in range(20):  # take the slots Haven's dropped connections freed, too
                try:
                    hogs.append(psycopg.connect(run.cluster.dsn("postgres"), connect_timeout=3))
                except psycopg.OperationalError:
                    break
        time.sleep(5)
    finally:
        for hog in hogs:
            hog.close()


def worker_kill(run: Run) -> None:
    """SIGKILL one uvicorn worker of the instance; the supervisor starts another."""
    pids = run.instances[0].worker_pids()
    if pids:
        os.kill(run.rng.choice(pids), signal.SIGKILL)
    time.sleep(1)


def server_kill(run: Run) -> None:
    """SIGKILL the whole instance (supervisor and workers), then start it again."""
    server = run.instances[0]
    server.kill()
    server.start()


def checkpoint_kill(run: Run) -> None:
    """`haven audit checkpoint` killed mid-run, again and again, under load."""
    for _ in range(8):
        process = subprocess.Popen(
            [*HAVEN, "audit", "checkpoint"],
            cwd=REPO,
            env=run.deployment.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(run.rng.uniform(0.2, 1.5))
        process.kill()
        process.wait(timeout=30)


def paused_instance(run: Run) -> None:
    """One of two instances is paused (SIGSTOP, all its processes) mid-load, then resumed: the
    other must keep serving, stalled at most by the lock and idle-transaction timeouts."""
    paused, other = run.instances
    run.watched = other.name
    paused.signal_all(signal.SIGSTOP)
    time.sleep(PAUSE)
    paused.signal_all(signal.SIGCONT)


PAUSE = 15.0
SLACK = 2.0
"""Seconds allowed for a loaded machine on top of a configured bound."""
PAUSED_LONGEST = 2 * LOCK_TIMEOUT + SLACK
"""The other instance's longest request: an intake may meet two locks the paused instance
holds (its case-number counter row, then the audit chain's lock), each waited for at most
the lock timeout."""
PAUSED_STALL = IDLE_TIMEOUT + LOCK_TIMEOUT + SLACK
"""The other instance's longest stretch without an acknowledged write: PostgreSQL ends the
paused instance's idle transactions after the idle timeout, releasing their locks."""

SMALL_POOL = {"HAVEN_DB_POOL_SIZE": "1", "HAVEN_DB_MAX_OVERFLOW": "4"}
"""Connections beyond the first are opened per request and closed after: so Haven needs new
connections while another client holds every free one."""

EXPERIMENTS: list[tuple[str, str, Fault, dict[str, Any]]] = [
    ("pg-restart", "postgresql", pg_restart, {}),
    ("pg-crash", "postgresql", pg_crash, {}),
    ("pg-paused", "postgresql", pg_paused, {}),
    ("pg-connection-limit", "postgresql", connection_limit, {"env": SMALL_POOL}),
    ("pg-worker-kill", "postgresql", worker_kill, {"workers_per_instance": 2}),
    ("pg-server-kill", "postgresql", server_kill, {}),
    ("pg-checkpoint-kill", "postgresql", checkpoint_kill, {}),
    ("pg-paused-instance", "postgresql", paused_instance, {"instances": 2}),
    ("sqlite-worker-kill", "sqlite", worker_kill, {"workers_per_instance": 2}),
    ("sqlite-server-kill", "sqlite", server_kill, {}),
    ("sqlite-checkpoint-kill", "sqlite", checkpoint_kill, {}),
]
