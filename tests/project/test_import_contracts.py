"""The import structure `make lint` holds (`lint-imports`, [tool.importlinter] in pyproject.toml),
checked here too so that a change which breaks it fails the suite with the offending imports."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _build() -> grimp.ImportGraph:
    return grimp.build_graph("api", "services", "models", exclude_type_checking_imports=True)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return _build()


def _without_value_set_imports(graph: grimp.ImportGraph) -> grimp.ImportGraph:
    for module in sorted(graph.modules):
        if module.startswith("services.") and module.endswith(".enums"):
            for importer in graph.find_modules_that_directly_import(module):
                graph.remove_import(importer=importer, imported=module)
    return graph


def test_value_set_modules_import_nothing_of_the_service() -> None:
    # The acyclic contract ignores imports of `services/<area>/enums.py`; that is sound only
    # while those modules stay leaves (StrEnums, nothing else of Haven).
    for path in sorted(ROOT.glob("services/*/enums.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert module in {"__future__", "enum"} or (
                    module.startswith("services.") and module.endswith(".enums")
                ), f"{path.relative_to(ROOT)} imports {module}"
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
                assert names == ["enum"], f"{path.relative_to(ROOT)} imports {names}"


def test_the_service_packages_form_no_cycle() -> None:
    acyclic = _without_value_set_imports(_build())
    assert acyclic.nominate_cycle_breakers("services") == set()
    # The check itself finds a cycle when one comes back: the case package calling the
    # referrals (which build on the cases) is the one that closing a case once made.
    acyclic.add_import(importer="services.cases.workflow", imported="services.referrals.closure")
    assert acyclic.nominate_cycle_breakers("services") != set()


@pytest.mark.parametrize(
    ("lower", "higher"), [("models", "services"), ("models", "api"), ("services", "api")]
)
def test_imports_flow_api_services_models(
    graph: grimp.ImportGraph, lower: str, higher: str
) -> None:
    chains = graph.find_shortest_chains(importer=lower, imported=higher, as_packages=True)
    assert chains == set(), f"{lower} imports {higher}: {sorted(chains)}"
