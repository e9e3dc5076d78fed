"""The role x action matrix: one entry per `/api/v1` route, the expected answer per principal.

`tests/api/test_role_matrix.py` (1) fails when a route in `app.routes` under `/api/v1` has no
entry here (or an entry names a route that does not exist), and (2) runs every entry for every
principal of a `World` and compares the status codes.

The world
    Two agencies, `a` and `b`. Each has one user per staff role (`a.system_admin`,
    `a.agency_admin`, `a.supervisor`, `a.caseworker`, `a.caseworker2`, `a.auditor`, the same
    with `b.`), and two partner API clients: `a.client` (`referrals:read referrals:respond`) and
    `a.client_read` (`referrals:read` only), likewise `b.client`, `b.client_read`. Finally
    `a.restricted`: a supervisor of `a` whose token is restricted to the first-login steps
    (`password.change`, `mfa.enrol`), which must be refused (403) everywhere else.
    And `a.pending`: a supervisor of `a` whose account waits for a second person's approval
    (an agency admin's change), holding a token all the same: it must be refused (401)
    everywhere a token is checked. `expect()` says so for it unless told otherwise.
    Every principal holds a live token (`world.headers[key]`); everything is rolled back after
    the test.

How to add entries (one module per area: `identity.py`, `cases.py`, `referrals.py`, `audit.py`)
    Define a module-level `ENTRIES: list[Entry]` in a new module of this package; the collector
    imports every module here. Each `Entry` gives:

    - `method` and `path`: exactly as the route is declared, e.g. `"POST"`,
      `"/api/v1/users/{user_id}/reset-password"` (the path template, prefix included).
    - `build(world, who) -> Call`: creates the target record(s) for one request by principal
      `who` and returns the path parameters, query, JSON body or form. It runs once per
      principal, so every principal acts on a fresh target (a DELETE by one principal does not
      change what the next one meets). Convention: targets live in agency `a` and, when they
      have an owner, belong to `a.caseworker`; principals of `b` are the other agency, and
      `a.caseworker2` is the same-agency colleague who does not own it. Write through
      `world.db` (flush, never commit) or the small helpers on `World`, or call the API as a
      principal with `world.http` and `world.headers[...]`; `world.runtime.keyring` is there
      for encrypted records, and `world.extra` is scratch space.
    - `expect`: the status per principal, built with `expect(ok=..., not_found=..., ...)`:
      `OK` ("2xx": any 2xx), `403` (the role or scopes may never do it), `404` (the record is
      not visible to it), or another code where the contract says so. Every principal must
      have an expectation; `expect()` fills the unnamed ones with `default` (403), and
      `a.pending` with 401.
      Use the key helpers: `keys("a", roles=("supervisor",))`, `STAFF`, `CLIENTS`, ...

    Example::

        ENTRIES = [
            Entry(
                "GET",
                f"{API}/users/{{user_id}}",
                lambda world, who: Call(path={"user_id": world.new_user("a").id}),
                expect(ok=SYSTEM_ADMINS + ("a.agency_admin",), not_found=("b.agency_admin",)),
            ),
        ]
"""

from __future__ import annotations

import importlib
import pkgutil
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models.identity import Agency, ApiClient, User
from services.config import Settings
from services.identity.tokens import issue_client_token, issue_user_token
from services.policy import Role
from services.runtime import Runtime
from tests.factories import API, make_agency, make_api_client, make_user

OK: Literal["2xx"] = "2xx"
Expected = int | Literal["2xx"]

AGENCIES = ("a", "b")
STAFF_ROLES = ("system_admin", "agency_admin", "supervisor", "caseworker", "caseworker2", "auditor")
CLIENT_KINDS = ("client", "client_read")
RESTRICTED = "a.restricted"
PENDING = "a.pending"


def keys(*agencies: str, roles: Iterable[str] = STAFF_ROLES + CLIENT_KINDS) -> tuple[str, ...]:
    """Principal keys, e.g. `keys("a", "b", roles=("supervisor",))`."""
    return tuple(f"{agency}.{role}" for agency in agencies or AGENCIES for role in roles)


STAFF = keys(*AGENCIES, roles=STAFF_ROLES)
CLIENTS = keys(*AGENCIES, roles=CLIENT_KINDS)
SYSTEM_ADMINS = keys(*AGENCIES, roles=("system_admin",))
USERS = (*STAFF, RESTRICTED)
PRINCIPALS: tuple[str, ...] = (*STAFF, *CLIENTS, RESTRICTED, PENDING)
"""Every principal of the world, in the order they are tried."""

FULL_SCOPES = frozenset({"referrals:read", "referrals:respond"})
READ_SCOPES = frozenset({"referrals:read"})
RESTRICTED_STEPS = frozenset({"password.change", "mfa.enrol"})


@dataclass(frozen=True)
class Call:
    """One request: path parameters, query, and a JSON body or a form."""

    path: Mapping[str, object] = field(default_factory=dict)
    query: Mapping[str, str] | None = None
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    build: Callable[[World, str], Call]
    expect: Mapping[str, Expected]
    note: str = ""

    @property
    def route(self) -> tuple[str, str]:
        return (self.method.upper(), self.path)


def expect(
    *,
    ok: Iterable[str] = (),
    not_found: Iterable[str] = (),
    default: Expected = 403,
    **others: Expected,
) -> dict[str, Expected]:
    """Expected status for every principal: `ok` → 2xx, `not_found` → 404, the rest `default`.

    `others` names single principals with another code, with `_` for `.`
    (`a_caseworker=409`).
    """
    result: dict[str, Expected] = dict.fromkeys(PRINCIPALS, default)
    result[PENDING] = 401  # no token of a pending account works
    for key in ok:
        result[key] = OK
    for key in not_found:
        result[key] = 404
    for name, status in others.items():
        key = name.replace("_", ".", 1)
        if key not in result:
            raise KeyError(f"unknown principal {key!r}")
        result[key] = status
    unknown = set(result) - set(PRINCIPALS)
    if unknown:
        raise KeyError(f"unknown principals {sorted(unknown)}")
    return result


@dataclass
class World:
    db: Session
    settings: Settings
    runtime: Runtime
    http: TestClient
    agencies: dict[str, Agency]
    users: dict[str, User]
    clients: dict[str, ApiClient]
    headers: dict[str, dict[str, str]]
    extra: dict[str, Any] = field(default_factory=dict)

    def agency(self, key: str = "a") -> Agency:
        return self.agencies[key]

    def principal_user(self, who: str) -> User | None:
        """The staff user behind principal `who` (None for an API client)."""
        return self.users.get(who)

    def new_user(self, agency: str = "a", role: Role | str = Role.CASEWORKER) -> User:
        return make_user(self.db, self.agencies[agency], role)

    def new_client(self, agency: str = "a", scopes: frozenset[str] = FULL_SCOPES) -> ApiClient:
        return make_api_client(self.db, self.agencies[agency], scopes)

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{secrets.token_hex(4)}"

    @staticmethod
    def random_id() -> uuid.UUID:
        return uuid.uuid4()


def build_world(db: Session, settings: Settings, runtime: Runtime, http: TestClient) -> World:
    agencies = {
        key: make_agency(db, f"Agency {key.upper()} {secrets.token_hex(3)}") for key in AGENCIES
    }
    users: dict[str, User] = {}
    clients: dict[str, ApiClient] = {}
    headers: dict[str, dict[str, str]] = {}
    for agency_key, agency in agencies.items():
        for role in STAFF_ROLES:
            key = f"{agency_key}.{role}"
            user = make_user(db, agency, Role(role.rstrip("2")))
            users[key] = user
            headers[key] = _bearer(issue_user_token(db, user, settings).value)
        for kind, scopes in (("client", FULL_SCOPES), ("client_read", READ_SCOPES)):
            key = f"{agency_key}.{kind}"
            client = make_api_client(db, agency, scopes)
            clients[key] = client
            headers[key] = _bearer(issue_client_token(db, client, scopes, settings).value)
    restricted = make_user(db, agencies["a"], Role.SUPERVISOR)
    restricted.must_change_password = True
    users[RESTRICTED] = restricted
    headers[RESTRICTED] = _bearer(
        issue_user_token(db, restricted, settings, restricted_to=RESTRICTED_STEPS).value
    )
    pending = make_user(db, agencies["a"], Role.SUPERVISOR)
    pending.pending_approval = True
    users[PENDING] = pending
    # Issued directly: no login would give a pending account a token.
    headers[PENDING] = _bearer(issue_user_token(db, pending, settings).value)
    db.flush()
    return World(db, settings, runtime, http, agencies, users, clients, headers)


def _bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


API_PREFIX = API


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route under `/api/v1`, hidden ones included.

    FastAPI >= 0.16x keeps included routers lazily (`app.routes` holds `_IncludedRouter`s), so
    the effective routes come from `iter_route_contexts` when it exists. The OpenAPI document is
    added as a cross-check, so a change in FastAPI's internals cannot make this set empty.
    """
    found: set[tuple[str, str]] = set()
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is flat
        candidates: list[Any] = list(app.routes)
    else:
        candidates = list(iter_route_contexts(app.routes))
    for route in candidates:
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None)
        is_api = isinstance(getattr(route, "original_route", route), APIRoute)
        if is_api and path and methods and path.startswith(API_PREFIX):
            found.update((method, path) for method in methods if method != "HEAD")
    for path, item in app.openapi().get("paths", {}).items():
        if path.startswith(API_PREFIX):
            found.update((method.upper(), path) for method in item)
    assert (("POST", f"{API_PREFIX}/auth/login")) in found, "route discovery is broken"
    return found


def load_entries() -> list[Entry]:
    """Every `ENTRIES` of every module in this package."""
    entries: list[Entry] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        entries.extend(getattr(module, "ENTRIES", []))
    return entries
