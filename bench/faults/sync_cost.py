"""What SQLite's `synchronous=FULL` costs: intake throughput and latency, FULL against NORMAL.

`python -m bench.faults --sync-cost`: for each setting a fresh SQLite deployment, one `haven
serve` worker, CLIENTS closed-loop clients sending intakes for SECONDS; the settings alternate
over ROUNDS rounds so machine noise hits both alike. Prints intakes/s and p50/p95 latency.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.faults.haven import Deployment, Instance, new_name
from bench.faults.load import Ledger, Worker

CLIENTS = 4
SECONDS = 8.0
ROUNDS = 2


def measure(folder: Path, synchronous: str, round_: int) -> tuple[float, list[float]]:
    deployment = Deployment(folder / f"{synchronous}-{round_}", "")
    deployment.database_url = f"sqlite:///{deployment.folder / 'haven.db'}"
    deployment.env["HAVEN_DATABASE_URL"] = deployment.database_url
    deployment.env["HAVEN_SQLITE_SYNCHRONOUS"] = synchronous
    deployment.migrate()
    tokens = deployment.caseworkers(CLIENTS)
    server = Instance(deployment, f"sync-{synchronous}-{round_}")
    server.start()
    ledger = Ledger()
    tag = new_name()[7:]
    workers = [
        Worker(ledger, n, tag, headers, (server.name, server.base_url), random.Random(n))
        for n, headers in enumerate(tokens)
    ]
    for worker in workers:  # warm up: connections, imports, caches
        worker.intake()
    ledger.samples.clear()
    until = time.monotonic() + SECONDS

    def loop(worker: Worker) -> None:
        while time.monotonic() < until:
            worker.intake()

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.http.close()
    server.stop()
    ok = [s.took for s in ledger.samples if s.acked]
    return len(ok) / elapsed, ok


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="haven-sync-cost-"))
    results: dict[str, list[tuple[float, list[float]]]] = {"FULL": [], "NORMAL": []}
    try:
        for round_ in range(ROUNDS):
            for synchronous in ("NORMAL", "FULL") if round_ % 2 else ("FULL", "NORMAL"):
                results[synchronous].append(measure(folder, synchronous, round_))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"SQLite intake, {CLIENTS} clients, {ROUNDS} x {SECONDS:g} s per setting, 1 worker")
    print(f"{'synchronous':<12}{'intakes/s':>10}{'p50 ms':>9}{'p95 ms':>9}")
    for synchronous, runs in results.items():
        rate = statistics.mean(r for r, _ in runs)
        latencies = sorted(t for _, ts in runs for t in ts)
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
        p95 = latencies[int(len(latencies) * 0.95)] * 1000 if latencies else 0.0
        print(f"{synchronous:<12}{rate:>10.1f}{p50:>9.1f}{p95:>9.1f}")
