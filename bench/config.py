"""Benchmark profiles, database names, ports and paths."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / "cache"
RESULTS_DIR = BENCH_DIR / "results"

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
HAVEN_DB = os.environ.get("BENCH_HAVEN_DB", "haven_bench")
BASELINE_DB = os.environ.get("BENCH_BASELINE_DB", "haven_bench_baseline")
HOST = "127.0.0.1"  # loopback only: the bench never sends traffic anywhere else
HAVEN_PORT = int(os.environ.get("BENCH_HAVEN_PORT", "18080"))
BASELINE_PORT = int(os.environ.get("BENCH_BASELINE_PORT", "18081"))
WORKERS = 2
POOL_SIZE = 10
MAX_OVERFLOW = 10

DATASET_VERSION = 2
"""Bump when the shape of the seeded data changes: the cached databases are then re-seeded."""


def database_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def haven_key_file() -> Path:
    return CACHE_DIR / "keyring.json"


@dataclass(frozen=True)
class Profile:
    name: str
    cases: int
    """Cases seeded (each ~2 KB of encrypted content, notes, referrals, ~20 audit events)."""
    rounds: int
    """Interleaved rounds (Haven, baseline, Haven, baseline, ...) per throughput benchmark."""
    seconds: float
    """Measured seconds per side per round (closed loop)."""
    warmup: float
    open_loop_seconds: float
    """Seconds per side per round of the open-loop (fixed-rate) latency run."""
    open_loop_rounds: int
    verify_events: int
    """Audit events in the verify benchmark's chain (a database of its own, `haven_bench_audit_N`,
    so the verify size does not follow the case count)."""
    crypto_records: int
    append_seconds: float


QUICK = Profile(
    name="bench",
    cases=int(os.environ.get("BENCH_CASES", "50000")),
    rounds=3,
    seconds=4.0,
    warmup=1.0,
    open_loop_seconds=4.0,
    open_loop_rounds=2,
    verify_events=200_000,
    crypto_records=3_000,
    append_seconds=2.0,
)

FULL = Profile(
    name="bench-full",
    cases=int(os.environ.get("BENCH_CASES", "100000")),
    rounds=5,
    seconds=8.0,
    warmup=2.0,
    open_loop_seconds=10.0,
    open_loop_rounds=3,
    verify_events=1_000_000,
    crypto_records=10_000,
    append_seconds=4.0,
)

SMOKE = Profile(
    name="smoke",
    cases=1000,
    rounds=2,
    seconds=2.0,
    warmup=0.5,
    open_loop_seconds=2.0,
    open_loop_rounds=1,
    verify_events=50_000,
    crypto_records=500,
    append_seconds=1.0,
)
"""A quick check that everything runs (not for numbers): `python -m bench --profile smoke`."""

PROFILES = {p.name: p for p in (QUICK, FULL, SMOKE)}
