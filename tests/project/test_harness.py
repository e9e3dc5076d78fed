"""The test harness keeps one definition of what tests share.

The versioned API prefix is written once (`tests.factories.API`, taken from the app itself), so
moving the API means changing one line, not every module that calls it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from api.app import API_PREFIX

TESTS = Path(__file__).resolve().parents[1]


def _prefix_literals(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith(API_PREFIX)
        and id(node) not in docstrings
    ]


def test_no_test_writes_the_api_prefix_out() -> None:
    found = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        for line in _prefix_literals(path)
    ]
    assert found == [], (
        f"{API_PREFIX!r} written out at {found}: import API from tests.factories and write "
        'f"{API}/cases" instead'
    )
