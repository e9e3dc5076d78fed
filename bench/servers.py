"""Real uvicorn processes on loopback ports: start, wait until ready, peak RSS per worker, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.config import BASELINE_PORT, CACHE_DIR, HAVEN_PORT, HOST, REPO_DIR, WORKERS


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    worker_pids: list[int] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def workers(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor, not helper processes)."""
        found: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid != self.process.pid:
                    continue
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except (OSError, ValueError, IndexError):
                continue
            if b"resource_tracker" in cmdline:
                continue
            found.append(int(entry.name))
        return sorted(found) or [self.process.pid]

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the workers."""
        return sum(_proc_cpu(pid) for pid in self.worker_pids or self.workers())

    def memory(self) -> dict[str, object]:
        """Peak (VmHWM) and current (VmRSS) resident memory of each worker, in MiB."""
        pids = self.worker_pids or self.workers()
        peaks: list[float] = []
        current: list[float] = []
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            values = {
                line.split(":")[0]: int(line.split()[1])
                for line in status.splitlines()
                if line.startswith(("VmHWM", "VmRSS"))
            }
            peaks.append(round(values.get("VmHWM", 0) / 1024, 1))
            current.append(round(values.get("VmRSS", 0) / 1024, 1))
        return {
            "workers": len(peaks),
            "peak_rss_mib": peaks,
            "rss_mib": current,
            "max_peak_rss_mib": max(peaks, default=0.0),
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def postgres_cpu() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL process on this machine (the bench's server is
    local; other users of it add noise, which interleaving spreads over both sides)."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
        except OSError:
            continue
        found[int(entry.name)] = _proc_cpu(int(entry.name))
    return found


def postgres_cpu_since(before: dict[int, float]) -> float:
    """CPU seconds PostgreSQL processes used since `before` (processes alive at both points, plus
    those started since: a backend that exited in between is lost, so this is a lower bound)."""
    now = postgres_cpu()
    return sum(value - before.get(pid, 0.0) for pid, value in now.items())


HAVEN_SRC = os.environ.get("BENCH_HAVEN_SRC")
"""Run the Haven server from another source tree (a patched copy, to measure a proposed change
before it lands); the bench itself, the loader and the checks still run from this tree."""


def _start(
    name: str, port: int, argv: list[str], env: dict[str, str], src: str | None = None
) -> Server:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    log_path = CACHE_DIR / f"{name}-server.log"
    log = log_path.open("wb")
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    if src:
        full_env["PYTHONPATH"] = src
    process = subprocess.Popen(
        argv,
        cwd=src or REPO_DIR,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() ends it and its workers only
    )
    server = Server(name=name, port=port, process=process, log_path=log_path)
    _wait_ready(server)
    return server


def _wait_ready(server: Server, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    ok = 0
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{server.name} server exited early:\n{tail}")
        try:
            if httpx.get(server.base_url + "/health", timeout=2).status_code == 200:
                ok += 1
        except httpx.HTTPError:
            ok = 0
        workers = server.workers()
        if ok >= 3 and len(workers) >= WORKERS:
            server.worker_pids = workers
            time.sleep(1.0)  # let the second worker finish importing
            return
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{server.name} did not become ready on port {server.port}")


def _launcher(app: str, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.serve",
        app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        *extra,
    ]


def start_haven(
    database_url: str,
    key_file: Path,
    checkpoint_file: Path,
    *,
    stock_uvicorn: bool = False,
    name: str = "haven",
) -> Server:
    """Haven exactly as operators run it: `haven serve --workers 2` (its access log on, as by
    default). `stock_uvicorn=True` runs the same app through plain `uvicorn.run` sockets instead
    (Nagle left on), to show what `haven serve`'s TCP_NODELAY saves."""
    if stock_uvicorn:
        argv = _launcher("api.app:create_app", HAVEN_PORT, "--as-shipped")
    else:
        haven = str(Path(sys.executable).with_name("haven"))
        argv = [haven, "serve", "--host", HOST, "--port", str(HAVEN_PORT)]
        argv += ["--workers", str(WORKERS)]
    return _start(
        name,
        HAVEN_PORT,
        argv,
        {
            "HAVEN_DATABASE_URL": database_url,
            "HAVEN_KEY_FILE": str(key_file),
            "HAVEN_AUDIT_CHECKPOINT_FILE": str(checkpoint_file),
        },
        src=HAVEN_SRC,
    )


def start_baseline(database_url: str) -> Server:
    """The baseline with uvicorn's own access log (one line per request, as Haven's), started
    like `haven serve` (several workers, TCP_NODELAY on the listening socket)."""
    extra: tuple[str, ...] = ()
    return _start(
        "baseline",
        BASELINE_PORT,
        _launcher("bench.baseline.app:create_app", BASELINE_PORT, "--access-log", *extra),
        {"BENCH_BASELINE_URL": database_url},
    )
