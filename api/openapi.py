"""Finishing touches on the generated OpenAPI document, so /docs (and generated clients) tell
integrators the truth. Everything here is automatic, so a new route follows it by itself:

- operation ids read well in generated code: `<resource>_<what>` (`cases_create`,
  `referrals_approve`), see `operation_id`;
- each operation's security requirement names who may call it: the staff roles and partner
  scopes of the policy action the route declares with `openapi_extra=requires(Action.X)`; the
  partner OAuth2 scheme appears only where a partner scope allows the action;
- public operations (`/health`, `/ready`, logging in, the token endpoint, the problem pages) say
  so with an empty security requirement, and the login endpoints list no 403/404 boilerplate;
- `servers` names this server (relative URL: right behind any proxy or host name);
- error answers carry the `Problem` schema under `application/problem+json`, the media type the
  server really sends (FastAPI files an additional response's model under `application/json`,
  and its 422 under its own `HTTPValidationError`, which Haven never sends);
- every answer shows an example: a 2xx its model's own `examples` or `api/examples.py`'s (a page
  is built from its item's), an error the problem of its status; the nulls FastAPI strips from
  model examples are put back so that each stays valid against its schema (tested);
- state-changing case and referral operations list 409 (and PATCH /cases/{id} lists 412 and 428).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.examples import OPERATION_RESPONSE_EXAMPLES, REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, problem_type_uri
from services.policy import ROLE_ACTIONS, SCOPE_ACTIONS, Action, Role

API = "/api/v1"
BEARER = "HTTPBearer"
CLIENT_CREDENTIALS = "PartnerClientCredentials"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
EXTRA_STATUSES = {
    409: "The record's state does not allow this (or it changed meanwhile); nothing was changed",
    412: "If-Match names a version that is no longer current: read the record again",
    428: "If-Match is required",
}
PUBLIC_WITHOUT = ("403", "404")
"""Boilerplate answers a public operation (no token) can never give."""

ACTION_KEY = "x-haven-action"
ANY_CALLER = "any"
"""Any valid token: staff of every role, and partner clients (`/auth/me`, `/auth/logout`)."""
ANY_STAFF = "staff"
"""Any staff token, including one restricted to first-login steps (password change, MFA)."""

SCOPES = {
    "referrals:read": "Read referrals addressed to your agency",
    "referrals:respond": "Accept, decline, update and complete them",
}


STAFF_ONLY_KEY = "x-haven-staff-only"


def requires(action: Action | str, *, partners: bool = True) -> dict[str, Any]:
    """`openapi_extra` for a route: the policy action it performs (or `ANY_CALLER`/`ANY_STAFF`),
    from which the document derives the roles and scopes in its security requirement.

    `partners=False` for a route a partner's scope lets through but whose records a partner
    can never see (a case's referrals: partners see no case), so the document offers partners
    nothing there."""
    extra: dict[str, Any] = {ACTION_KEY: str(action)}
    if not partners:
        extra[STAFF_ONLY_KEY] = True
    return extra


# --- operation ids ---------------------------------------------------------------------------

_PARAMETER = re.compile(r"^\{.*\}$")


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _without(words: list[str], phrase: list[str]) -> list[str]:
    n = len(phrase)
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i : i + n] == phrase:
            i += n
            continue
        out.append(words[i])
        i += 1
    return out


def operation_id(route: APIRoute) -> str:
    """`<resource>_<what>`: the first path segment after `/api/v1` (hyphens as underscores),
    then the endpoint function's name with that resource's own words taken out.

    `POST /api/v1/cases` `create_case` → `cases_create`; `POST /referrals/{id}/approve`
    `approve_referral` → `referrals_approve`; `GET /cases/{id}/referrals` `list_case_referrals`
    → `cases_list_referrals`; `GET /health` `health` → `health`. So name an endpoint function
    `<verb>[_<object>]`; a test checks every id against this rule and for uniqueness.
    """
    path = route.path_format.removeprefix(API)
    segments = [s for s in path.split("/") if s and not _PARAMETER.match(s)]
    resource = segments[0].replace("-", "_").lower() if segments else "root"
    plural = resource.split("_")
    singular = [*plural[:-1], _singular(plural[-1])]
    words = route.name.lower().split("_")
    rest = _without(_without(words, plural), singular)
    return "_".join([resource, *rest]) if rest else resource


# --- security --------------------------------------------------------------------------------


def who_may(action: str) -> tuple[list[str], list[str]]:
    """(staff roles, partner scopes) that may attempt `action` (object checks come after)."""
    if action == ANY_CALLER:
        return [role.value for role in Role], sorted(SCOPES)
    if action == ANY_STAFF:
        return [role.value for role in Role], []
    known = Action(action)
    roles = [role.value for role in Role if role in ROLE_ACTIONS.get(known, frozenset())]
    scope = SCOPE_ACTIONS.get(known)
    return roles, [str(scope)] if scope else []


def _who_line(roles: list[str], scopes: list[str]) -> str:
    parts = []
    if roles:
        parts.append("staff with the role " + " or ".join(f"`{r}`" for r in roles))
    if scopes:
        parts.append("partner clients with the scope " + " or ".join(f"`{s}`" for s in scopes))
    return "**Who may call:** " + ("; ".join(parts) if parts else "nobody") + "."


def _secure(operation: dict[str, Any]) -> None:
    action = operation.get(ACTION_KEY)
    if action is None:
        return  # bearer as FastAPI declared it; a test insists every operation declares one
    roles, scopes = who_may(str(action))
    if operation.pop(STAFF_ONLY_KEY, False):
        scopes = []
    # OpenAPI 3.1: for a non-OAuth2 scheme the list names the roles it needs. A partner's token
    # is a bearer token too, so the bearer requirement lists the scopes as well.
    security: list[dict[str, list[str]]] = [{BEARER: roles + scopes}]
    if scopes:
        security.append({CLIENT_CREDENTIALS: scopes})
    operation["security"] = security
    operation["x-haven-roles"] = roles
    operation["x-haven-scopes"] = scopes
    description = operation.get("description", "")  # the summary is shown beside it anyway
    operation["description"] = f"{description}\n\n{_who_line(roles, scopes)}".strip()


# --- the document ----------------------------------------------------------------------------


def _describe_parameter(parameter: dict[str, Any]) -> None:
    """A path parameter `<thing>_id` says what it is when its route did not say more."""
    name = str(parameter.get("name", ""))
    if parameter.get("in") == "path" and name.endswith("_id") and not parameter.get("description"):
        thing = name.removesuffix("_id").replace("_", " ")
        parameter["description"] = f"The {thing}'s id (as returned when it was created)."


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


def _schema_example(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    ref = str(schema.get("$ref", ""))
    name = ref.rsplit("/", 1)[-1]
    target = document["components"]["schemas"].get(name, {}) if ref else schema
    if target.get("examples"):
        return target["examples"][0]
    if name in REQUEST_EXAMPLES:
        target["examples"] = [REQUEST_EXAMPLES[name]]
        return REQUEST_EXAMPLES[name]
    for option in schema.get("anyOf", []):  # an optional body: `Model | None`
        if option.get("$ref"):
            return _schema_example(document, option)
    return None


def _request_examples(document: dict[str, Any], operation: dict[str, Any]) -> None:
    """Each request body's media type carries its example, which /docs' "Try it out" sends."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        if "example" not in media:
            example = _schema_example(document, media.get("schema", {}))
            if example is not None:
                media["example"] = example


def _response_example(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A response schema's example: its model's own `examples`, the one in `api/examples.py`, a
    page built from its item's example, or the first member of a union that has one."""
    ref = str(schema.get("$ref", ""))
    if ref:
        name = ref.rsplit("/", 1)[-1]
        target = document["components"]["schemas"].get(name, {})
        if target.get("examples"):
            return _with_nulls(document, target, copy.deepcopy(target["examples"][0]))
        if name in RESPONSE_EXAMPLES:
            return RESPONSE_EXAMPLES[name]
        return _page_example(document, target)
    for option in schema.get("oneOf", schema.get("anyOf", [])):
        example = _response_example(document, option)
        if example is not None:
            return example
    return None


def _with_nulls(
    document: dict[str, Any], schema: dict[str, Any], example: Any, *, required_only: bool = False
) -> Any:
    """A model's example with its null fields back: FastAPI drops every null from the document
    it generates, examples included, so `"next_cursor": null` would vanish and the example
    would no longer be valid against its own schema (where the field is required).

    `required_only` restores only the required ones (what a request example must have: an
    optional field left out of a request means "unchanged", not null)."""
    schemas = document["components"]["schemas"]
    ref = str(schema.get("$ref", ""))
    if ref:
        schema = schemas.get(ref.rsplit("/", 1)[-1], {})
    if isinstance(example, list) and "items" in schema:
        return [
            _with_nulls(document, schema["items"], item, required_only=required_only)
            for item in example
        ]
    if not isinstance(example, dict):
        return example
    required = set(schema.get("required", []))
    for name, spec in schema.get("properties", {}).items():
        options = spec.get("anyOf", [spec])
        if name not in example:
            if {"type": "null"} in options and (name in required or not required_only):
                example[name] = None
        else:
            inner = next((o for o in options if o != {"type": "null"}), spec)
            example[name] = _with_nulls(document, inner, example[name], required_only=required_only)
    return example


def _model_examples_with_nulls(document: dict[str, Any]) -> None:
    """The examples models carry, shown with their schemas, valid again (see `_with_nulls`)."""
    for schema in document.get("components", {}).get("schemas", {}).values():
        if schema.get("examples"):
            schema["examples"] = [
                _with_nulls(document, schema, example, required_only=True)
                for example in schema["examples"]
            ]


def _page_example(document: dict[str, Any], page: dict[str, Any]) -> Any:
    """`{"items": [<an item>], "next_cursor": null}` for a page schema whose item has one."""
    properties = page.get("properties", {})
    if "items" not in properties or set(page.get("required", [])) - {"items", "next_cursor"}:
        return None
    item = _response_example(document, properties["items"].get("items", {}))
    if item is None:
        return None
    return {"items": [item], **({"next_cursor": None} if "next_cursor" in properties else {})}


PROBLEM_REQUEST_ID = "4f9d2c1b8a7e4d3c9b2a1f0e8d7c6b5a"
TOKEN_OPERATION = "auth_token"  # noqa: S105 (an operation id)


def _problem_example(
    document: dict[str, Any], operation: dict[str, Any], status: int, description: str
) -> dict[str, Any]:
    """What this error answer looks like: the problem type of its status, the response's own
    description as the detail, and on a 422 the `errors` list naming a field."""
    kind = PROBLEM_TYPES.get(status)
    example: dict[str, Any] = {
        "type": problem_type_uri(status),
        "title": kind.title if kind else "Request failed",
        "status": status,
        "detail": description,
        "request_id": PROBLEM_REQUEST_ID,
    }
    if status == 422:
        loc, message = _an_input(document, operation)
        example["detail"] = "The request has invalid fields: " + ".".join(loc) + "."
        example["errors"] = [{"loc": loc, "msg": message}]
    if status == 503:
        example["cause"] = "database_unreachable"
    if status == 400 and operation.get("operationId") == TOKEN_OPERATION:
        example["error"] = "invalid_scope"  # RFC 6749's code, only the token endpoint sends it
    return example


def _an_input(document: dict[str, Any], operation: dict[str, Any]) -> tuple[list[str], str]:
    """One input of the operation and how it can be wrong, for the 422 example: the body's
    first required field left out, else a parameter of the wrong type."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        name = str(media.get("schema", {}).get("$ref", "")).rsplit("/", 1)[-1]
        required = document["components"]["schemas"].get(name, {}).get("required", [])
        if required:
            return ["body", str(required[0])], "Field required"
    parameters = sorted(operation.get("parameters", []), key=lambda p: p["in"] != "path")
    for parameter in parameters:
        schema = parameter.get("schema", {})
        options = [schema, *schema.get("anyOf", [])]
        if any(o.get("format") == "uuid" for o in options):
            return [str(parameter["in"]), str(parameter["name"])], "Input should be a valid UUID"
        kind = next((str(o["type"]) for o in options if o.get("type") in _SIMPLE_TYPES), None)
        if kind is not None:
            message = f"Input should be a valid {kind}"
            return [str(parameter["in"]), str(parameter["name"])], message
    return ["body"], "Field required"


_SIMPLE_TYPES = frozenset({"integer", "boolean", "string"})


def _response_examples(document: dict[str, Any], operation: dict[str, Any]) -> None:
    """Each answer's media type carries an example, shown beside it in /docs."""
    override = OPERATION_RESPONSE_EXAMPLES.get(str(operation.get("operationId")))
    for code, response in operation.get("responses", {}).items():
        for media_type, media in response.get("content", {}).items():
            if "example" in media or "examples" in media:
                continue
            if media_type == PROBLEM_MEDIA_TYPE:
                example = _problem_example(document, operation, int(code), response["description"])
            elif override is not None and code.startswith("2"):
                example = override
            else:
                example = _response_example(document, media.get("schema", {}))
            if example is not None:
                media["example"] = example


def _discriminators_required(document: dict[str, Any]) -> None:
    """A union told apart by a property (`view` on referrals) lists that property as required
    in each member: it is always sent, and a client cannot pick the member without it."""
    schemas = document.get("components", {}).get("schemas", {})

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            name = node.get("discriminator", {}).get("propertyName")
            for member in node.get("oneOf", []) if name else []:
                target = schemas.get(str(member.get("$ref", "")).rsplit("/", 1)[-1])
                if target is not None and name not in target.setdefault("required", []):
                    target["required"].insert(0, name)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(document)


FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
"""FastAPI's own 422 body, which Haven never sends (its 422 is a `Problem` with `errors`)."""


def _drop_unused(document: dict[str, Any], names: tuple[str, ...]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for name in names:
        target = schemas.pop(name, None)
        if target is not None and f'"#/components/schemas/{name}"' in json.dumps(document):
            schemas[name] = target  # still referenced somewhere: keep it


def _finish(document: dict[str, Any]) -> dict[str, Any]:  # noqa: C901  one pass per document part, in order
    document["servers"] = [{"url": "/", "description": "This Haven server"}]
    document["info"]["license"] = {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"}
    _discriminators_required(document)
    _model_examples_with_nulls(document)
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[CLIENT_CREDENTIALS] = {
        "type": "oauth2",
        "description": "Partner agencies: your API client's id and secret (OAuth2 client "
        "credentials, `POST /api/v1/auth/token`).",
        "flows": {"clientCredentials": {"tokenUrl": f"{API}/auth/token", "scopes": SCOPES}},
    }
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses: dict[str, Any] = operation.get("responses", {})
            for code, response in responses.items():
                # Every error answer is problem+json (`api/errors.py`), including the 422 that
                # FastAPI files under its own `HTTPValidationError` shape.
                if code.isdigit() and int(code) >= 400 and response.get("content"):
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
            changes_state = method in ("post", "patch", "delete") and path.startswith(
                (f"{API}/cases/", f"{API}/referrals/")
            )
            if changes_state:
                responses.setdefault("409", _problem(EXTRA_STATUSES[409]))
            if method == "patch" and path == f"{API}/cases/{{case_id}}":
                responses.setdefault("412", _problem(EXTRA_STATUSES[412]))
                responses.setdefault("428", _problem(EXTRA_STATUSES[428]))
            if not operation.get("description") and operation.get("summary"):
                operation["description"] = operation["summary"]
            for parameter in operation.get("parameters", []):
                _describe_parameter(parameter)
            _request_examples(document, operation)
            _response_examples(document, operation)
            if not operation.get("security"):
                operation["security"] = []  # public: say so explicitly
                for code in PUBLIC_WITHOUT:
                    responses.pop(code, None)
            else:
                _secure(operation)
    _drop_unused(document, FASTAPI_VALIDATION_SCHEMAS)
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
