"""The OpenAPI document is something an integrator (and a client generator) can rely on.

Automatic rules checked for every operation, so a new route keeps them: readable operation ids,
security requirements that name who may call (and agree with the role x action matrix), public
operations marked public, descriptions, and problem `type` URIs that resolve to a page.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.openapi import ACTION_KEY, BEARER, CLIENT_CREDENTIALS
from api.problems import PROBLEM_TYPE_LIST
from tests.api.matrix import CLIENT_KINDS, FULL_SCOPES, OK, READ_SCOPES, STAFF_ROLES, load_entries
from tests.factories import API

READABLE_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PUBLIC = {
    ("get", "/health"),
    ("get", "/ready"),
    ("post", f"{API}/auth/login"),
    ("post", f"{API}/auth/token"),
    ("get", "/problems"),
    ("get", "/problems/{slug}"),
}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def test_operation_ids_read_well_and_are_unique(document: dict[str, Any]) -> None:
    ids = Counter(op["operationId"] for _, _, op in _operations(document))
    assert [i for i, n in ids.items() if n > 1] == []
    bad = []
    for method, path, operation in _operations(document):
        op_id = operation["operationId"]
        first = next(s for s in path.removeprefix(API).split("/") if s).replace("-", "_")
        if (
            not READABLE_ID.match(op_id)
            or "api_v1" in op_id
            or not op_id.startswith(first)
            or len(op_id) > 40
        ):
            bad.append(f"{method.upper()} {path}: {op_id}")
    assert bad == [], "operation ids must be <resource>_<verb>[_<object>] (see api/openapi.py)"


def test_the_core_operations_have_the_ids_integrators_expect(document: dict[str, Any]) -> None:
    ids = {(m, p): op["operationId"] for m, p, op in _operations(document)}
    assert ids[("post", f"{API}/cases")] == "cases_create"
    assert ids[("get", f"{API}/cases/{{case_id}}")] == "cases_get"
    assert ids[("patch", f"{API}/cases/{{case_id}}")] == "cases_update"
    assert ids[("post", f"{API}/referrals/{{referral_id}}/approve")] == "referrals_approve"
    assert ids[("post", f"{API}/auth/login")] == "auth_login"


def test_public_operations_say_so_and_list_no_403_or_404(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        if (method, path) in PUBLIC:
            assert operation["security"] == [], (method, path)
            assert "403" not in operation["responses"], (method, path)
            assert "404" not in operation["responses"], (method, path)
        else:
            assert operation["security"], f"{method.upper()} {path} is not public: say who may"


def test_every_protected_operation_declares_its_policy_action(document: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in _operations(document)
        if operation["security"] and ACTION_KEY not in operation
    ]
    assert missing == [], "add openapi_extra=requires(Action.X) (api/openapi.py) to these routes"


def _matrix_says(expect: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(staff roles, scopes) for which the matrix expects anything but 403 somewhere."""
    roles = {
        role.rstrip("2")
        for key, status in expect.items()
        for role in STAFF_ROLES
        if key.endswith(f".{role}") and status != 403
    }
    scopes: set[str] = set()
    for kind in CLIENT_KINDS:
        if any(expect[f"{agency}.{kind}"] == OK for agency in ("a", "b")):
            scopes |= FULL_SCOPES if kind == "client" else READ_SCOPES
    return roles, scopes


def test_security_requirements_agree_with_the_role_matrix(document: dict[str, Any]) -> None:
    operations = {(m.upper(), p): op for m, p, op in _operations(document)}
    disagreements = []
    for entry in load_entries():
        operation = operations.get(entry.route)
        if operation is None or not operation["security"]:
            continue
        roles, scopes = _matrix_says(dict(entry.expect))
        declared_roles = set(operation["x-haven-roles"])
        declared_scopes = set(operation["x-haven-scopes"])
        if declared_roles != roles:
            disagreements.append(
                f"{entry.route}: roles {sorted(declared_roles)} vs {sorted(roles)}"
            )
        # A client reaching 2xx needs a declared scope; a declared scope needs a client reaching it.
        if bool(declared_scopes) != bool(scopes) or not declared_scopes <= FULL_SCOPES:
            disagreements.append(
                f"{entry.route}: scopes {sorted(declared_scopes)} vs {sorted(scopes)}"
            )
        partner_scheme = any(CLIENT_CREDENTIALS in r for r in operation["security"])
        if partner_scheme != bool(declared_scopes):
            disagreements.append(f"{entry.route}: partner scheme offered without a scope")
        bearer = [r[BEARER] for r in operation["security"] if BEARER in r]
        assert bearer and set(bearer[0]) == declared_roles | declared_scopes, entry.route
    assert disagreements == []


def test_supervisor_only_operations_offer_no_partner_scheme(document: dict[str, Any]) -> None:
    approve = document["paths"][f"{API}/referrals/{{referral_id}}/approve"]["post"]
    assert approve["security"] == [{BEARER: ["supervisor"]}]
    accept = document["paths"][f"{API}/referrals/{{referral_id}}/accept"]["post"]
    assert {CLIENT_CREDENTIALS: ["referrals:respond"]} in accept["security"]


def test_servers_are_named(document: dict[str, Any]) -> None:
    assert document["servers"] and document["servers"][0]["url"]


def test_every_operation_and_path_parameter_is_described(document: dict[str, Any]) -> None:
    undescribed = [
        f"{method.upper()} {path}"
        for method, path, operation in _operations(document)
        if not operation.get("description")
    ]
    assert undescribed == []
    path_parameters = [
        f"{method.upper()} {path} {parameter['name']}"
        for method, path, operation in _operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path" and not parameter.get("description")
    ]
    assert path_parameters == []


def test_every_problem_type_resolves_to_a_page(client: TestClient) -> None:
    index = client.get("/problems")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    for problem in PROBLEM_TYPE_LIST:
        assert problem.uri in index.text
        page = client.get(problem.uri)
        assert page.status_code == 200, problem.uri
        assert problem.title in page.text and str(problem.status) in page.text
    assert client.get("/problems/no-such-problem").status_code == 404


def test_an_error_answer_type_resolves_to_its_page(client: TestClient) -> None:
    answer = client.get(f"{API}/cases/{uuid.uuid4()}")  # no token: 401
    assert answer.status_code == 401
    kind = answer.json()["type"]
    assert kind == "/problems/unauthenticated"
    page = client.get(kind)
    assert page.status_code == 200 and "Not authenticated" in page.text


def test_the_referral_union_requires_its_discriminator(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in ("StaffReferral", "PartnerReferral"):
        assert "view" in schemas[name]["required"], name
