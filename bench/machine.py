"""Machine details for the results file, so runs on different machines are not compared blindly."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

from bench.config import REPO_DIR
from bench.dbutil import server_dsn


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO_DIR, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError:
        return ""


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_details() -> dict[str, Any]:
    with psycopg.connect(server_dsn()) as conn:
        row = conn.execute("SELECT version()").fetchone()
        pg_version = row[0] if row else "unknown"
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("max_connections", "shared_buffers", "synchronous_commit")
        }
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "postgresql_settings": settings,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": dirty,
        "load_average_at_start": list(os.getloadavg()),
        "packages": {
            name: _version(name)
            for name in ("fastapi", "starlette", "pydantic", "sqlalchemy", "psycopg", "uvicorn")
        },
    }
