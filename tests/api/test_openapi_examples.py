"""Every request body in /openapi.json has an example, and every example is accepted as it
stands: posted by a caller allowed to make the request, it is never a 422 (nor a 5xx). This is
what Swagger's "Try it out" sends."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.examples import AGENCY_ID, USER_ID
from services.config import Settings
from services.policy import Role
from tests.factories import (
    API,
    TEST_PASSWORD,
    client_headers,
    make_agency,
    make_api_client,
    make_user,
    user_headers,
)

ONE_TIME_SECRETS = {("POST", f"{API}/auth/mfa/confirm"): "code"}
"""Fields no published example can get right (the authenticator's current code): a 422 naming
only that field, for not matching, is the answer to a well-formed request."""


def _secret_mismatch(name: str, response: Any) -> bool:
    method, path = name.split(" as ")[0].split(" ", 1)
    field = ONE_TIME_SECRETS.get((method, path))
    if field is None or response.status_code != 422:
        return False
    errors = response.json().get("errors", [])
    return bool(errors) and all(e["loc"] == ["body", field] for e in errors)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]


def test_every_request_body_has_an_example(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    missing = [
        f"{method.upper()} {path} ({media_type})"
        for method, path, operation in _operations(document)
        for media_type, media in operation["requestBody"]["content"].items()
        if "example" not in media
    ]
    assert missing == [], "add an example (api/examples.py, or the model's own examples)"


def test_every_request_example_is_accepted(
    client: TestClient, db: Session, settings: Settings
) -> None:
    document = client.get("/openapi.json").json()
    agency = make_agency(db)
    users = {role.value: make_user(db, agency, role) for role in Role}
    headers = {role: user_headers(db, user, settings) for role, user in users.items()}
    partner = make_api_client(db, make_agency(db))
    headers["partner"] = client_headers(db, partner, settings)
    real_ids = {AGENCY_ID: str(agency.id), USER_ID: str(users["caseworker"].id)}
    # The example's "current password" is prose; the callers here have the test password.
    current = "the temporary password you were given"

    answers = []
    # A password change last: it changes the caller's password the other examples send.
    ordered = sorted(_operations(document), key=lambda op: op[1].endswith("/auth/password"))
    for method, path, operation in ordered:
        roles = operation.get("x-haven-roles", [])
        caller = (roles[0] if roles else "partner") if operation["security"] else None
        url = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                url = url.replace("{" + parameter["name"] + "}", str(uuid.uuid4()))
        for media_type, media in operation["requestBody"]["content"].items():
            text = json.dumps(media["example"], ensure_ascii=False)
            for placeholder, real in real_ids.items():
                text = text.replace(placeholder, real)
            example = json.loads(text.replace(current, TEST_PASSWORD))
            kwargs: dict[str, Any] = (
                {"data": example}
                if media_type.endswith("x-www-form-urlencoded")
                else {"json": example}
            )
            response = client.request(
                method.upper(), url, headers=headers.get(caller or "", {}), **kwargs
            )
            answers.append((f"{method.upper()} {path} as {caller}", response))
    assert answers
    rejected = [
        f"{name}: {response.status_code} {response.text[:300]}"
        for name, response in answers
        if (response.status_code == 422 and not _secret_mismatch(name, response))
        or response.status_code >= 500
    ]
    assert rejected == [], "\n".join(rejected)
    created = dict(answers)[f"POST {API}/cases as caseworker"]
    assert created.status_code == 201, created.text
