"""Dependencies are bounded in pyproject.toml and pinned, with hashes, in uv.lock.

An unbounded requirement lets a fresh install pick up the next major release, which may break
the service (the tests rely on FastAPI internals of one minor version). uv.lock holds the exact
versions and hashes that `make install`, `make run`, CI and the Docker image install.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
HOW = "Give it an upper bound in pyproject.toml, then run `make lock` (see docs/development.md)."


def _unbounded(requirements: list[str]) -> list[str]:
    return [r for r in requirements if not re.search(r"<\s*[\d.]+", r)]


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    unbounded = _unbounded(PROJECT["dependencies"])
    assert unbounded == [], f"runtime dependencies without an upper bound: {unbounded}. {HOW}"


def test_every_dev_dependency_has_an_upper_bound() -> None:
    unbounded = _unbounded(PROJECT["optional-dependencies"]["dev"])
    assert unbounded == [], f"dev dependencies without an upper bound: {unbounded}. {HOW}"


def test_the_lock_file_pins_every_dependency_with_hashes() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    packages = {p["name"]: p for p in lock["package"]}
    wanted = [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]
    names = [re.split(r"[\[<>=!~;\s]", r, maxsplit=1)[0].lower().replace("_", "-") for r in wanted]
    missing = [n for n in names if n not in packages]
    assert missing == [], f"uv.lock does not pin {missing}: run `make lock`"
    for name in names:
        artifacts = [*packages[name].get("wheels", []), packages[name].get("sdist", {})]
        hashes = [a.get("hash", "") for a in artifacts if a]
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{name} has no hashes"
