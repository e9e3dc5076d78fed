"""The running service's OpenAPI document holds every operation of the published REST contract.

Partner agencies integrate against a fixed list of operations (method, path, whether a token is
needed); the list below is that contract, so a renamed or dropped route fails here."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import API

# (method, path) of every operation the contract fixes, under /api/v1 unless absolute.
CONTRACT_OPERATIONS = [
    ("post", "/auth/login"),
    ("post", "/auth/logout"),
    ("get", "/auth/me"),
    ("post", "/auth/token"),
    ("post", "/agencies"),
    ("get", "/agencies"),
    ("post", "/users"),
    ("get", "/users"),
    ("patch", "/users/{id}"),
    ("post", "/api-clients"),
    ("delete", "/api-clients/{id}"),
    ("post", "/cases"),
    ("get", "/cases"),
    ("get", "/cases/{id}"),
    ("patch", "/cases/{id}"),
    ("delete", "/cases/{id}"),
    ("post", "/cases/{id}/notes"),
    ("get", "/cases/{id}/notes"),
    ("post", "/cases/{id}/stage"),
    ("post", "/cases/{id}/close"),
    ("post", "/cases/{id}/reopen"),
    ("post", "/cases/{id}/assign"),
    ("get", "/reference/concerns"),
    ("post", "/cases/{id}/referrals"),
    ("get", "/cases/{id}/referrals"),
    ("get", "/referrals"),
    ("get", "/referrals/{id}"),
    ("post", "/referrals/{id}/approve"),
    ("post", "/referrals/{id}/reject"),
    ("post", "/referrals/{id}/accept"),
    ("post", "/referrals/{id}/decline"),
    ("post", "/referrals/{id}/updates"),
    ("post", "/referrals/{id}/complete"),
    ("post", "/referrals/{id}/cancel"),
    ("get", "/audit/events"),
    ("get", "/audit/verify"),
]
UNAUTHENTICATED = {("post", "/auth/login"), ("post", "/auth/token")}


def _normalise(path: str) -> str:
    """`/cases/{case_id}/notes` and `/cases/{id}/notes` are the same operation."""
    parts = ["{}" if p.startswith("{") and p.endswith("}") else p for p in path.split("/")]
    return "/".join(parts)


@pytest.fixture
def openapi(client: TestClient) -> dict[str, object]:
    document: dict[str, object] = client.get("/openapi.json").json()
    return document


def _operations(openapi: dict[str, object]) -> dict[tuple[str, str], dict[str, object]]:
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    found = {}
    for path, item in paths.items():
        for method, operation in item.items():
            found[(method, _normalise(path))] = operation
    return found


def _responses(operation: dict[str, object]) -> dict[str, object]:
    responses = operation.get("responses", {})
    assert isinstance(responses, dict)
    return responses


@pytest.mark.parametrize(("method", "path"), CONTRACT_OPERATIONS)
def test_every_contract_operation_is_in_the_openapi_document(
    openapi: dict[str, object], method: str, path: str
) -> None:
    operations = _operations(openapi)
    key = (method, _normalise(API + path))
    assert key in operations, f"{method.upper()} {API}{path} is missing from /openapi.json"
    operation = operations[key]
    secured = bool(operation.get("security"))
    if (method, path) in UNAUTHENTICATED:
        assert not secured, "login and token endpoints take no bearer token"
    else:
        assert secured, "the operation must declare the bearer scheme so /docs can call it"


def test_health_and_ready_are_outside_the_api_prefix(openapi: dict[str, object]) -> None:
    operations = _operations(openapi)
    assert ("get", "/health") in operations
    assert ("get", "/ready") in operations


def test_every_api_operation_declares_its_responses(openapi: dict[str, object]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for (method, path), operation in _operations(openapi).items()
        if path.startswith(API) and not any(code.startswith("2") for code in _responses(operation))
    ]
    assert missing == []
