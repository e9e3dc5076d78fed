"""The API walk-through in docs/ runs as written.

docs/api-walkthrough.md is one story a new user pastes into one shell. This test plays the
user: it starts `haven serve` on a fresh database and keyring (step 0 of the document, done
here the way the document describes it), then runs every `sh` block of the document, in order,
in one `bash` with `set -euo pipefail`, and checks the answers the document promises.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.databases import empty_database

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGH = ROOT / "docs" / "api-walkthrough.md"
DOCUMENTED_ORIGIN = "http://127.0.0.1:8000"
ADMIN_PASSWORD = "correct horse battery staple for admin"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("curl") is None or shutil.which("jq") is None,
        reason="the walk-through is written for curl and jq; install both to run it",
    ),
]


def sh_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _haven() -> list[str]:
    return [sys.executable, "-c", "from services.cli import main; main()"]


def _wait_until_ready(origin: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"haven serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{origin}/ready", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("haven serve did not become ready within 60 s")


def test_the_document_has_the_whole_story() -> None:
    blocks = sh_blocks(WALKTHROUGH.read_text(encoding="utf-8"))
    script = "\n".join(blocks)
    assert len(blocks) >= 8
    for step in (
        "/auth/login",
        "/agencies",
        "/users",
        "/api-clients",
        "/cases",
        "/referrals",
        "/assessments",
        "/plan",
        "/services",
        "/follow-ups",
        "/timeline",
    ):
        assert step in script, f"the walk-through no longer shows {step}"


def test_the_walkthrough_runs_against_a_real_server(tmp_path: Path) -> None:
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    var = tmp_path / "var"
    var.mkdir(mode=0o700)
    with empty_database() as url:
        env = {
            **os.environ,
            "HAVEN_DATABASE_URL": url,
            "HAVEN_KEY_FILE": str(var / "keyring.json"),
            "HAVEN_AUDIT_CHECKPOINT_FILE": str(var / "audit-checkpoints.jsonl"),
            "HAVEN_HOST": "127.0.0.1",
            "HAVEN_PORT": str(port),
            "HAVEN_LOG_LEVEL": "WARNING",
        }
        subprocess.run([*_haven(), "migrate"], env=env, cwd=ROOT, check=True)
        subprocess.run(
            [*_haven(), "bootstrap", "--username", "admin", "--password-stdin"],
            input=f"{ADMIN_PASSWORD}\n".encode(),
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen([*_haven(), "serve"], env=env, cwd=ROOT)
        try:
            _wait_until_ready(origin, server)
            script = "\n".join(sh_blocks(WALKTHROUGH.read_text(encoding="utf-8")))
            # The document calls the venv's `haven`; here it is the interpreter running the tests.
            script = script.replace(DOCUMENTED_ORIGIN, origin).replace(
                ".venv/bin/haven",
                " ".join(_haven()[:2]) + ' "from services.cli import main; main()"',
            )
            done = subprocess.run(
                ["bash", "-c", f"set -euo pipefail\nADMIN_PASSWORD='{ADMIN_PASSWORD}'\n{script}"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    output = done.stdout
    assert done.returncode == 0, f"the walk-through failed:\n{output}\n{done.stderr}"
    lines = output.splitlines()
    # What the document's comments promise, in the order it promises them.
    expected = [
        '["password.change"]',
        '{"restricted_to":[]}',
        "204",
        "401",
        "HVN-",
        "assessment",
        "404",
        "409",
        "assessment",
        '{"status":409,"missing":["assessment"]}',
        "204",
        "404",
        "sent",
        "accepted",
        "in_progress",
        "completed",
        '{"valid":true',
        "psychosocial_support  پاڵپشتی دەروونی و کۆمەڵایەتی",
        "initial 2",
        "case_plan",
        '{"status":409,"missing":["plan","plan_approval"]}',
        '{"version":1,"status":"draft"}',
        '{"version":2,"status":"approved"}',
        "implementation 20",
        "v2 approved",
        "v1 draft",
        "own_agency",
        "partner mhpss Completed 8 sessions; stable",
        "improved",
        '{"open_cases":1,"by_stage":{"follow_up":1},"follow_ups_due_soon":1}',
        "closed",
        "closure: Closed: goals_met",
        "follow_up: Follow-up (home_visit)",
        "open follow_up",
    ]
    position = 0
    for wanted in expected:
        found = next((i for i in range(position, len(lines)) if wanted in lines[i]), None)
        assert found is not None, f"expected {wanted!r} after line {position} of:\n{output}"
        position = found + 1
    assert "null" not in [line.strip() for line in lines], f"a step printed null:\n{output}"
