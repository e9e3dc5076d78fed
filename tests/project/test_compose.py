"""The compose stack says only what can work. No Docker engine runs in CI, so its file is read
here: settings Haven knows, commands Haven has, pinned images, no password inside a URL, no
trust in X-Forwarded-For while the port is published without a proxy, the periodic worker, the
key folder on a named volume (owned by the image's user) and the checkpoints off it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from services.cli import app
from services.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PINNED = re.compile(r"^[\w./-]+:\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$")


def _haven_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in SERVICES.items() if s.get("build")}


def test_every_haven_setting_in_the_file_exists() -> None:
    known = {f"HAVEN_{name.upper()}" for name in Settings.model_fields}
    for name, service in SERVICES.items():
        for variable in service.get("environment", {}):
            if variable.startswith("HAVEN_") and name != "db":
                assert variable in known, f"{name}: {variable} is not a Haven setting"


@pytest.mark.parametrize("name", sorted(_haven_services()))
def test_every_haven_command_exists(name: str) -> None:
    command = SERVICES[name]["command"]
    words = (
        command if command[0] == "haven" else ["haven", *re.findall(r"haven ([\w-]+)", command[-1])]
    )
    assert words[0] == "haven"
    path = [w for w in words[1:] if not w.startswith(("-", "/", '"'))]
    shown = CliRunner().invoke(app, [*path, "--help"])
    assert shown.exit_code == 0, f"{name}: haven {' '.join(path)} does not exist"


def test_images_are_pinned_to_a_version() -> None:
    images = [s["image"] for s in SERVICES.values() if "image" in s and not s.get("build")]
    assert images
    for image in images:
        assert PINNED.match(image), f"{image} is not pinned to a version"
    base = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for line in base.splitlines():
        if line.startswith("FROM "):
            assert PINNED.match(line.split()[1]), line


def test_no_password_inside_a_database_url() -> None:
    for name, service in _haven_services().items():
        environment = service.get("environment", {})
        url = make_url(environment["HAVEN_DATABASE_URL"])
        assert url.password is None, f"{name}: pass HAVEN_DATABASE_PASSWORD instead"
        assert "HAVEN_DATABASE_PASSWORD" in environment, name


def test_forwarded_for_is_not_trusted_on_a_published_port() -> None:
    for name, service in SERVICES.items():
        trusted = str(service.get("environment", {}).get("HAVEN_TRUST_FORWARDED_FOR", "false"))
        if service.get("ports"):
            assert trusted.lower() != "true", f"{name} publishes its port and trusts XFF"


def test_a_worker_runs_the_periodic_jobs_with_a_health_check() -> None:
    workers = [s for s in SERVICES.values() if s.get("command") == ["haven", "jobs", "run"]]
    assert len(workers) == 1
    assert workers[0]["healthcheck"]["test"][1:] == ["haven", "jobs", "status", "--check"]


def test_keys_on_a_named_volume_and_checkpoints_on_a_host_path() -> None:
    named = set(COMPOSE.get("volumes", {}))
    for name, service in _haven_services().items():
        mounts = {m.split(":")[-1]: m.rsplit(":", 1)[0] for m in service["volumes"]}
        assert mounts["/keys"] in named, f"{name}: the keyring belongs on the named volume"
        source = mounts["/checkpoints"]
        assert source not in named and "HAVEN_CHECKPOINT_DIR" in source, name


def test_the_build_context_leaves_out_keys_databases_and_virtualenvs() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in ("var/", "keys/", ".venv/", "*.age", "keyring.json*"):
        assert entry in ignored


def test_the_bootstrap_runs_in_a_posix_shell() -> None:
    """dash (the image's /bin/sh) has no `read -s`: the documented bootstrap must not need it."""
    documented = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    documented += (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    assert "read -rs" not in documented and "read -s" not in documented
    assert "haven bootstrap --username admin --generate-password" in documented
