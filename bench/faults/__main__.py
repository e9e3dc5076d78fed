"""`make faults`: Haven under faults, on a private PostgreSQL and on SQLite.

Prints one row per experiment: requests, acknowledged writes, lost, phantom, 5xx (of which
500), recovery time (fault over -> next acknowledged write), longest request, longest stall
(longest stretch without an acknowledged write from the fault on; for the paused instance, both
measured on the other instance), verify. Exits 1 when any experiment lost an acknowledged
write, left a write unaudited or unresolved, answered a 500, or left the audit chain invalid,
or when the paused instance stalled the other beyond the configured lock timeout.

    python -m bench.faults [--only NAME,...] [--keep] [--sync-cost]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.faults.cluster import PrivateCluster
from bench.faults.experiments import (
    EXPERIMENTS,
    PAUSED_LONGEST,
    PAUSED_STALL,
    Result,
    run_experiment,
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table(results: list[Result]) -> str:
    header = (
        f"{'experiment':<24}{'requests':>9}{'acked':>7}{'lost':>6}{'phantom':>8}"
        f"{'5xx (500)':>11}{'recovery':>10}{'longest':>9}{'stall':>8}  verify"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        recovery = f"{r.recovery:.1f} s" if r.recovery is not None else "-"
        lines.append(
            f"{r.name:<24}{r.requests:>9}{r.acked:>7}{r.lost:>6}{r.phantom:>8}"
            f"{f'{r.errors_5xx} ({r.errors_500})':>11}{recovery:>10}{r.longest:>7.1f} s"
            f"{r.stall:>6.1f} s  {r.verify}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faults")
    parser.add_argument("--only", default="", help="comma-separated experiment names")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--sync-cost", action="store_true", help="measure SQLite intake, synchronous FULL/NORMAL"
    )
    args = parser.parse_args()
    if args.sync_cost:
        from bench.faults.sync_cost import main as sync_cost

        sync_cost()
        return
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    chosen = [e for e in EXPERIMENTS if not only or e[0] in only]
    if only - {e[0] for e in EXPERIMENTS}:
        raise SystemExit(
            f"unknown experiment(s): {', '.join(sorted(only - {e[0] for e in EXPERIMENTS}))}"
        )
    folder = Path(tempfile.mkdtemp(prefix="haven-faults-"))
    cluster: PrivateCluster | None = None
    results: list[Result] = []
    started = time.monotonic()
    try:
        if any(backend == "postgresql" for _, backend, _, _ in chosen):
            cluster = PrivateCluster()
            log(f"private PostgreSQL on 127.0.0.1:{cluster.port} in {cluster.root}")
            cluster.init()
            cluster.start()
        for number, (name, backend, fault, shape) in enumerate(chosen):
            log(f"[{number + 1}/{len(chosen)}] {name}")
            try:
                results.append(
                    run_experiment(
                        name,
                        fault,
                        backend=backend,
                        cluster=cluster,
                        folder=folder,
                        seed=args.seed + number,
                        log=log,
                        **shape,
                    )
                )
            except Exception as error:  # noqa: BLE001  report it in the table and carry on
                failed = Result(name, verify=f"NOT RUN: {type(error).__name__}: {error}"[:120])
                failed.ok = False
                results.append(failed)
    finally:
        if cluster is not None:
            cluster.destroy()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(table(results))
    failures = [r for r in results if not r.ok]
    for r in results:
        if r.name == "pg-paused-instance" and (
            r.longest > PAUSED_LONGEST or r.stall > PAUSED_STALL
        ):
            r.notes.append(
                f"the other instance: longest request {r.longest:.1f} s (bound "
                f"{PAUSED_LONGEST:.1f} s), longest stall {r.stall:.1f} s "
                f"(bound {PAUSED_STALL:.1f} s)"
            )
            failures.append(r)
    for r in results:
        for note in r.notes:
            print(f"  {r.name}: {note}")
    print(
        f"{len(results)} experiments in {time.monotonic() - started:.0f} s; "
        f"{'all passed' if not failures else f'{len(failures)} FAILED'}"
    )
    if args.keep:
        print(f"kept: {folder}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
