"""A private PostgreSQL cluster for fault experiments: initdb in a temporary folder on a spare
loopback port, started as its own process group so it can be restarted, crashed (SIGKILL to
every process) and paused (SIGSTOP) without touching any other PostgreSQL on the machine.

PostgreSQL refuses to run as root: when the harness runs as root, the cluster runs as the
`postgres` operating-system user (the one the PostgreSQL packages create)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

HOST = "127.0.0.1"


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian layout, or PATH)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise SystemExit("PostgreSQL's initdb was not found (install the postgresql package)")


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    def __init__(self, *, max_connections: int = 60) -> None:
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="haven-faults-pg-"))
        self.data = self.root / "data"
        self.port = spare_port()
        self.max_connections = max_connections
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.root / "postgres.log"
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    # --- lifecycle -------------------------------------------------------------------------------

    def init(self) -> None:
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",  # the cluster is thrown away; its own commits are still fsynced
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
            **self._as,
        )

    def start(self, timeout: float = 60) -> None:
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                f"listen_addresses={HOST}",
                "-c",
                f"max_connections={self.max_connections}",
                "-c",
                "fsync=on",
                "-c",
                "shared_buffers=32MB",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,  # apart from the harness's own process group
            **self._as,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited; see {self.log}")
            time.sleep(0.2)
        raise RuntimeError(f"postgres did not start within {timeout} s; see {self.log}")

    def answers(self, timeout: int = 2) -> bool:
        try:
            psycopg.connect(self.dsn("postgres"), connect_timeout=timeout).close()
        except psycopg.Error:
            return False
        return True

    def processes(self) -> list[int]:
        """The postmaster and its children (each backend calls setsid(), so they are not in
        the postmaster's process group: they are found by parent)."""
        assert self.process is not None
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.process.pid:
                found.append(int(entry.name))
        return found

    def _signal_group(self, signum: int) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGINT): what `pg_ctl stop -m fast` does."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal_group(signal.SIGCONT)
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.crash()

    def crash(self) -> None:
        """SIGKILL to the postmaster and every backend at once: a power cut, for PostgreSQL."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        time.sleep(0.5)  # the killed backends' shared memory goes with them

    def pause(self) -> None:
        self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_group(signal.SIGCONT)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.crash()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- addresses -------------------------------------------------------------------------------

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.dsn("postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
