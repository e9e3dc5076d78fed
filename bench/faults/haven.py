"""Haven under test: a database prepared with `haven migrate`, caseworkers with tokens, and
`haven serve` processes (each its own process group, so a whole instance can be killed with
SIGKILL or paused with SIGSTOP, or one worker killed alone)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.faults.cluster import HOST, spare_port

REPO = Path(__file__).resolve().parents[2]
HAVEN = [sys.executable, "-c", "from services.cli import main; main()"]

# The bounds the experiments run with (shorter than the defaults, so each run is short; the
# paused-instance experiment checks the stall against these).
LOCK_TIMEOUT = 2.0
IDLE_TIMEOUT = 5.0
REQUEST_TIMEOUT = 8.0
LIMITS = {
    "HAVEN_DB_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT),
    "HAVEN_DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
    "HAVEN_DB_STATEMENT_TIMEOUT_SECONDS": "10",
    "HAVEN_DB_CONNECT_TIMEOUT_SECONDS": "3",
    "HAVEN_REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT),
    "HAVEN_REQUEST_QUEUE_TIMEOUT_SECONDS": "5",
    "HAVEN_READY_TIMEOUT_SECONDS": "2",
    "HAVEN_DB_POOL_SIZE": "4",
    "HAVEN_DB_MAX_OVERFLOW": "4",
}


@dataclass
class Deployment:
    """One database, its keyring and checkpoint file, shared by every instance."""

    folder: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")},
            "HAVEN_DATABASE_URL": self.database_url,
            "HAVEN_KEY_FILE": str(self.folder / "keyring.json"),
            "HAVEN_AUDIT_CHECKPOINT_FILE": str(self.folder / "audit-checkpoints.jsonl"),
            "HAVEN_AUDIT_CHECKPOINT_EVERY_EVENTS": "100",
            "HAVEN_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
            **LIMITS,
        }

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*HAVEN, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def migrate(self) -> None:
        done = self.cli("migrate")
        if done.returncode != 0:
            raise RuntimeError(f"haven migrate failed: {done.stderr.strip()}")

    def caseworkers(self, count: int) -> list[dict[str, str]]:
        """`count` caseworkers of one agency, each with a bearer token (headers)."""
        script = (
            "import json, secrets, sys\n"
            "from services.config import Settings\n"
            "from services.runtime import build_runtime\n"
            "from services.crypto.passwords import hash_password\n"
            "from services.identity.tokens import issue_user_token\n"
            "from models.identity import Agency, User\n"
            "runtime = build_runtime(Settings())\n"
            "hashed = hash_password(secrets.token_urlsafe(18))\n"
            "tokens = []\n"
            "with runtime.session_factory() as session, session.begin():\n"
            "    agency = Agency(name='Fault suite ' + secrets.token_hex(4))\n"
            "    session.add(agency)\n"
            "    session.flush()\n"
            f"    for n in range({count}):\n"
            "        user = User(username=f'load-{n}-' + secrets.token_hex(3),\n"
            "                    password_hash=hashed, role='caseworker', agency_id=agency.id)\n"
            "        session.add(user)\n"
            "        session.flush()\n"
            "        tokens.append(issue_user_token(session, user, runtime.settings).value)\n"
            "runtime.engine.dispose()\n"
            "print(json.dumps(tokens))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"seeding caseworkers failed: {done.stderr.strip()[-2000:]}")
        import json

        return [{"Authorization": f"Bearer {token}"} for token in json.loads(done.stdout)]

    def verify(self) -> str:
        done = self.cli("audit", "verify", timeout=300)
        if done.returncode == 0:
            return "valid"
        lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
        reason = lines.get("reason", done.stderr.strip()[-200:])
        return f"INVALID at {lines.get('first_invalid_seq', '?')}: {reason}"


class Instance:
    """`haven serve` on a spare loopback port."""

    def __init__(self, deployment: Deployment, name: str, *, workers: int = 1) -> None:
        self.deployment = deployment
        self.name = name
        self.workers = workers
        self.port = spare_port()
        self.log = deployment.folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 60) -> None:
        env = {
            **self.deployment.env,
            "HAVEN_HOST": HOST,
            "HAVEN_PORT": str(self.port),
            "HAVEN_WORKERS": str(self.workers),
        }
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [*HAVEN, "serve"], cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=3) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start; see {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get("/ready").status_code == 200 and (
                        self.workers == 1 or len(self.worker_pids()) >= self.workers
                    ):
                        return
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not become ready within {timeout} s; see {self.log}")

    def worker_pids(self) -> list[int]:
        """uvicorn's worker processes (children of the supervisor)."""
        assert self.process is not None
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.process.pid and b"resource_tracker" not in cmdline:
                found.append(int(entry.name))
        return sorted(found)

    def signal_all(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        self.signal_all(signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.signal_all(signal.SIGCONT)
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def new_name() -> str:
    return "faults_" + secrets.token_hex(4)
