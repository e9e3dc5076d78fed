"""The HTTP skeleton: health, readiness, request ids and problem+json for framework errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.app import create_app
from api.deps import SessionDep
from api.routing import TransactionalRoute
from models.identity import Agency
from services.errors import Conflict
from services.runtime import Runtime
from tests.factories import API

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
    response = client.get(f"{API}/no-such-thing")
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
        f"{API}/auth/login",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 413


class Probe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=10)
    count: int


def _app_with_probe_routes(app: FastAPI) -> FastAPI:
    """Routes that exist only in this test: one that validates a body, one that crashes."""

    router = APIRouter(route_class=TransactionalRoute)

    @router.post("/probe/validate")
    def validate(body: Probe) -> dict[str, str]:
        return {"name": body.name}

    @router.get("/probe/crash")
    def crash() -> dict[str, str]:
        raise RuntimeError("secret internal detail: Amal Haddad")

    app.include_router(router)
    return app


def test_validation_errors_name_each_field_and_echo_no_value(app: FastAPI) -> None:
    client = TestClient(_app_with_probe_routes(app))
    response = client.post("/probe/validate", json={"name": "SECRET-MARKER-TOO-LONG", "extra": 1})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    locs = {tuple(item["loc"]) for item in body["errors"]}
    assert ("body", "name") in locs
    assert ("body", "count") in locs
    assert ("body", "extra") in locs
    assert all(set(item) == {"loc", "msg"} for item in body["errors"])
    assert "SECRET-MARKER" not in response.text


def test_malformed_json_is_a_422_problem_that_says_so(app: FastAPI) -> None:
    client = TestClient(_app_with_probe_routes(app))
    response = client.post(
        "/probe/validate", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "The body is not valid JSON."


def test_an_unexpected_key_is_named_only_when_it_looks_like_a_field(app: FastAPI) -> None:
    client = TestClient(_app_with_probe_routes(app))
    response = client.post(
        "/probe/validate", json={"name": "x", "count": 1, "Amira Haddad": 1, "nickname": 2}
    )
    assert response.status_code == 422
    locs = [item["loc"] for item in response.json()["errors"]]
    assert ["body", "nickname"] in locs
    assert ["body", "(unexpected field)"] in locs
    assert "Amira" not in response.text


def test_an_unexpected_error_is_a_bare_500_with_a_request_id(app: FastAPI) -> None:
    client = TestClient(_app_with_probe_routes(app), raise_server_exceptions=False)
    response = client.get("/probe/crash", headers={"X-Request-ID": "req-crash-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["X-Request-ID"] == "req-crash-1"
    body = response.json()
    assert body["request_id"] == "req-crash-1"
    assert "Amal" not in response.text and "Traceback" not in response.text


def test_access_log_names_the_route_never_the_query_or_body(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(_app_with_probe_routes(app))
    with caplog.at_level(logging.INFO, logger="haven.access"):
        client.post("/probe/validate?name=Query-Marker", json={"name": "Body-Mark", "count": 1})
    records = [r for r in caplog.records if r.name == "haven.access"]
    assert records, "no access log line was written"
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    assert "/probe/validate" in text
    assert "Query-Marker" not in text and "Body-Mark" not in text


def _app_with_writing_routes(app: FastAPI) -> FastAPI:
    router = APIRouter(route_class=TransactionalRoute)

    @router.post("/probe/agency/{name}")
    def create(name: str, session: SessionDep, fail: bool = False) -> dict[str, str]:
        session.add(Agency(name=name))
        session.flush()
        if fail:
            raise Conflict("refused after a write")
        return {"name": name}

    app.include_router(router)
    return app


def test_a_request_that_fails_leaves_no_half_written_record(fresh_runtime: Runtime) -> None:
    client = TestClient(_app_with_writing_routes(create_app(runtime=fresh_runtime)))
    response = client.post("/probe/agency/half-written?fail=true")
    assert response.status_code == 409
    with fresh_runtime.session_factory() as session:
        assert session.scalar(select(Agency).where(Agency.name == "half-written")) is None


def test_a_success_is_committed_before_the_response_is_sent(fresh_runtime: Runtime) -> None:
    client = TestClient(_app_with_writing_routes(create_app(runtime=fresh_runtime)))
    response = client.post("/probe/agency/committed")
    assert response.status_code == 200
    # A separate connection sees it: the commit happened, not just a flush.
    with fresh_runtime.engine.connect() as connection:
        names = connection.execute(select(Agency.name)).scalars().all()
    assert "committed" in names


def test_the_app_refuses_to_start_with_a_keyring_others_can_read(
    runtime: Runtime, tmp_path: Path
) -> None:
    settings = runtime.settings
    key_file = tmp_path / "exposed-keyring.json"
    key_file.write_bytes(settings.key_file.read_bytes())
    key_file.chmod(0o644)
    exposed = settings.model_copy(update={"key_file": key_file})
    with pytest.raises(SystemExit) as stopped:
        create_app(exposed)
    assert "cannot start" in str(stopped.value)


def test_docs_work_offline_with_assets_served_by_haven(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text and "fastapi.tiangolo.com" not in page.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200


def test_openapi_documents_problem_details_and_the_partner_flow(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    accept = document["paths"][f"{API}/referrals/{{referral_id}}/accept"]["post"]
    refused = accept["responses"]["404"]["content"]
    assert set(refused) == {PROBLEM}
    assert refused[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "409" in accept["responses"]
    assert {"PartnerClientCredentials": ["referrals:respond"]} in accept["security"]
    flows = document["components"]["securitySchemes"]["PartnerClientCredentials"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == f"{API}/auth/token"
    patch = document["paths"][f"{API}/cases/{{case_id}}"]["patch"]["responses"]
    assert {"409", "412", "428"} <= set(patch)


def _address_seen(trust: bool, hops: int, forwarded: list[str]) -> str | None:
    from api.middleware import RequestContextMiddleware

    middleware = RequestContextMiddleware(app=None, trust_forwarded_for=trust, proxy_hops=hops)  # type: ignore[arg-type]
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return middleware._client_address({"client": ("10.9.9.9", 5555), "headers": headers})


def test_forwarded_for_is_ignored_unless_trusted() -> None:
    assert _address_seen(False, 1, ["203.0.113.7"]) == "10.9.9.9"


def test_a_client_cannot_choose_its_address_by_sending_forwarded_for() -> None:
    # The client sent "1.2.3.4"; our one proxy appended the address it really saw.
    assert _address_seen(True, 1, ["1.2.3.4, 203.0.113.7"]) == "203.0.113.7"
    assert _address_seen(True, 1, ["1.2.3.4", "203.0.113.7"]) == "203.0.113.7"
    # Two proxies: the client's address is second from the right.
    assert _address_seen(True, 2, ["1.2.3.4, 203.0.113.7, 10.0.0.2"]) == "203.0.113.7"
    # Fewer entries than proxies: the header is not ours; fall back to the peer.
    assert _address_seen(True, 2, ["203.0.113.7"]) == "10.9.9.9"
