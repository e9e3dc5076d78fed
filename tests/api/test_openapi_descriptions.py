"""A floor under the OpenAPI document's descriptions: every component schema property, every
operation and every parameter says what it is. A partner's integrator reads /docs or a generated
client's docstrings, not our code, so a field without a description is a field they must guess.

A failure names each gap (`Component.property`, `GET /path name (query)`): add
`Field(description=...)` to the model field, or `Query(description=...)` / `Path(...)` /
`Header(...)` / `Form(...)` to the parameter.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _described(node: dict[str, Any]) -> bool:
    return bool(str(node.get("description", "")).strip())


def test_every_component_schema_property_is_described(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert len(schemas) > 50  # the walk below really walks the components
    missing = sorted(
        f"{name}.{prop}"
        for name, schema in schemas.items()
        for prop, spec in schema.get("properties", {}).items()
        if not _described(spec)
    )
    assert missing == [], (
        f"{len(missing)} schema properties have no description; add Field(description=...): "
        + ", ".join(missing)
    )


def test_every_operation_is_described(document: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in _operations(document)
        if not _described(operation)
    ]
    assert missing == [], "give these routes a summary or description: " + ", ".join(missing)


def test_every_parameter_is_described(document: dict[str, Any]) -> None:
    parameters = [
        (method, path, parameter)
        for method, path, operation in _operations(document)
        for parameter in operation.get("parameters", [])
    ]
    assert {p["in"] for _, _, p in parameters} >= {"path", "query", "header"}
    missing = [
        f"{method.upper()} {path} {parameter['name']} ({parameter['in']})"
        for method, path, parameter in parameters
        if not _described(parameter)
    ]
    assert missing == [], "describe these parameters: " + ", ".join(missing)


def test_every_response_is_described(document: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path} {code}"
        for method, path, operation in _operations(document)
        for code, response in operation["responses"].items()
        if not _described(response)
    ]
    assert missing == []


def test_error_answers_are_documented_as_the_problem_haven_sends(
    document: dict[str, Any],
) -> None:
    """Haven answers every error with problem+json (a 422 included): the document must not
    promise FastAPI's own validation body, which no client would ever receive."""
    wrong = [
        f"{method.upper()} {path} {code}: {sorted(response['content'])}"
        for method, path, operation in _operations(document)
        for code, response in operation["responses"].items()
        if int(code) >= 400
        and response.get("content")
        and list(response["content"]) != ["application/problem+json"]
    ]
    assert wrong == []
    assert "HTTPValidationError" not in document["components"]["schemas"]
