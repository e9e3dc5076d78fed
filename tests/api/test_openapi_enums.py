"""Every value set appears in the OpenAPI document once, as a named component that is the
service's own enum (not one inline copy per field: eight risk-level enums that could drift)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from fastapi.testclient import TestClient

import services


def _service_enums() -> dict[str, type[StrEnum]]:
    """Every StrEnum defined in the service layer, by class name (names must not collide)."""
    found: dict[str, type[StrEnum]] = {}
    for module_info in pkgutil.walk_packages(services.__path__, "services."):
        if not module_info.name.endswith((".enums", ".actions")):
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, StrEnum)
                and value.__module__ == module.__name__
            ):
                assert value.__name__ not in found, f"two enums named {value.__name__}"
                found[value.__name__] = value
    return found


def _enums(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Paths of every schema with an `enum` in the document."""
    if isinstance(node, dict):
        if "enum" in node:
            yield path
        for key, value in node.items():
            yield from _enums(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _enums(value, (*path, index))


def test_every_enum_is_one_named_component_of_a_service_enum(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    service_enums = _service_enums()
    paths = list(_enums(document))
    inline = [p for p in paths if len(p) != 3 or p[:2] != ("components", "schemas")]
    assert inline == [], f"inline enums (use the service's StrEnum): {inline}"
    named = {p[2] for p in paths}
    for name in named:
        assert name in service_enums, f"component {name} is not a service enum"
        assert schemas[name]["enum"] == [m.value for m in service_enums[name]], name
    # The value sets the API speaks are all there, each once.
    assert {"Role", "Scope", "RiskLevel", "Stage", "CaseStatus", "ReferralStatus"} <= named
    assert {"Urgency", "ConsentBasis", "ServiceType", "Sex", "SeparationStatus"} <= named


def test_fields_refer_to_the_shared_component(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    risk = "#/components/schemas/RiskLevel"
    for model in ("CaseCreate", "CaseOut"):
        field = schemas[model]["properties"]["risk_level"]
        # A description may sit beside the `$ref` (OpenAPI 3.1 allows siblings).
        assert field.get("$ref") == risk or {"$ref": risk} in field.get("anyOf", []), model
