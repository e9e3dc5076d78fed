"""Finishing touches on the generated OpenAPI document, so /docs tells partners the truth:

- error answers carry the `Problem` schema under `application/problem+json`, the media type the
  server really sends (FastAPI files an additional response's model under `application/json`);
- state-changing case and referral operations list 409 (and PATCH /cases/{id} lists 412 and 428);
- partner operations also accept the OAuth2 client-credentials flow, so a partner can authorise
  in /docs with its client id and secret instead of pasting a token.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.problems import PROBLEM_MEDIA_TYPE

API = "/api/v1"
CLIENT_CREDENTIALS = "PartnerClientCredentials"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PARTNER_PATHS = (f"{API}/referrals", f"{API}/reference/", f"{API}/auth/me", f"{API}/auth/logout")
EXTRA_STATUSES = {
    409: "The record's state does not allow this (or it changed meanwhile); nothing was changed",
    412: "If-Match names a version that is no longer current: read the record again",
    428: "If-Match is required",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


def _finish(document: dict[str, Any]) -> dict[str, Any]:
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[CLIENT_CREDENTIALS] = {
        "type": "oauth2",
        "description": "Partner agencies: your API client's id and secret (OAuth2 client "
        "credentials, `POST /api/v1/auth/token`).",
        "flows": {
            "clientCredentials": {
                "tokenUrl": f"{API}/auth/token",
                "scopes": {
                    "referrals:read": "Read referrals addressed to your agency",
                    "referrals:respond": "Accept, decline, update and complete them",
                },
            }
        },
    }
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses: dict[str, Any] = operation.get("responses", {})
            for code, response in responses.items():
                content = response.get("content", {})
                if code.isdigit() and int(code) >= 400 and PROBLEM_MEDIA_TYPE in content:
                    content.pop("application/json", None)
                    content[PROBLEM_MEDIA_TYPE] = {"schema": PROBLEM_REF}
            changes_state = method in ("post", "patch", "delete") and path.startswith(
                (f"{API}/cases/", f"{API}/referrals/")
            )
            if changes_state:
                responses.setdefault("409", _problem(EXTRA_STATUSES[409]))
            if method == "patch" and path == f"{API}/cases/{{case_id}}":
                responses.setdefault("412", _problem(EXTRA_STATUSES[412]))
                responses.setdefault("428", _problem(EXTRA_STATUSES[428]))
            security = operation.get("security")
            if security and path.startswith(PARTNER_PATHS):
                security.append({CLIENT_CREDENTIALS: []})
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _finish(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
