"""The HTTP skeleton: health, readiness, request ids and problem+json for framework errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_the_migrated_database(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_every_response_has_a_request_id(client: TestClient) -> None:
    response = client.get("/health")
    assert len(response.headers["X-Request-ID"]) >= 16


def test_a_sane_request_id_is_kept_and_an_insane_one_replaced(client: TestClient) -> None:
    kept = client.get("/health", headers={"X-Request-ID": "field-tablet-42.7"})
    assert kept.headers["X-Request-ID"] == "field-tablet-42.7"
    replaced = client.get("/health", headers={"X-Request-ID": "bad id\twith<script>"})
    assert replaced.headers["X-Request-ID"] != "bad id\twith<script>"


def test_unknown_path_is_problem_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == 404
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_wrong_method_is_problem_json_405(client: TestClient) -> None:
    response = client.delete("/health")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


def test_oversized_body_is_413_before_anything_is_parsed(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/login",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 413
