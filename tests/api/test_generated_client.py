"""A Python client generated from /openapi.json (openapi-python-client, at test time) drives the
core flow: log in, create an agency and users, a case with an Arabic name, search it, update it
with If-Match, add a note, refer it, approve the referral, and read it as the partner. If the
document stops being usable by a generator (ids, unions, security, bodies), this fails."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.examples import REQUEST_EXAMPLES
from services.policy import Role
from tests.factories import TEST_PASSWORD, make_agency, make_user

PACKAGE = "haven_generated_client"
ARABIC_NAME = "ئاڤین"


ROOT = Path(__file__).resolve().parents[2]
GENERATOR = "openapi-python-client==0.29.1"
"""Run in its own environment by uv (`uv tool run`): it pins typer below the CLI's version."""


def _generator() -> list[str]:
    uv = ROOT / ".tools" / "bin" / "uv"
    found = str(uv) if uv.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed to run openapi-python-client: run `make install`")
    return [found, "tool", "run", "--from", GENERATOR, "openapi-python-client"]


@pytest.fixture
def generated(app: FastAPI, tmp_path: Path) -> Iterator[ModuleType]:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(app.openapi(), ensure_ascii=False), encoding="utf-8")
    config = tmp_path / "config.yml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n", encoding="utf-8")
    done = subprocess.run(
        [
            *_generator(),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_drives_the_core_flow(
    generated: ModuleType, client: TestClient, db: Session
) -> None:
    models = _api("models")
    transport = {"transport": client._transport}  # the app itself, in process
    anonymous = generated.Client(base_url="http://testserver", httpx_args=transport)

    def login(username: str) -> Any:
        answer = _api("api.auth.auth_login").sync(
            client=anonymous,
            body=models.LoginRequest(username=username, password=TEST_PASSWORD),
        )
        assert isinstance(answer, models.LoginResponse), answer
        return generated.AuthenticatedClient(
            base_url="http://testserver", token=answer.access_token, httpx_args=transport
        )

    admin_user = make_user(db, make_agency(db, "System"), Role.SYSTEM_ADMIN)
    db.commit()
    admin = login(admin_user.username)

    agency = _api("api.administration.agencies_create").sync(
        client=admin, body=models.AgencyCreate(name="Agency North")
    )
    partner_agency = _api("api.administration.agencies_create").sync(
        client=admin, body=models.AgencyCreate(name="Partner Health")
    )
    assert isinstance(agency, models.AgencyOut) and isinstance(partner_agency, models.AgencyOut)
    for username, role in (("amal", "caseworker"), ("hadi", "supervisor")):
        created = _api("api.administration.users_create").sync(
            client=admin,
            body=models.UserCreate.from_dict(
                {
                    "username": username,
                    "password": TEST_PASSWORD,
                    "role": role,
                    "agency_id": str(agency.id),
                }
            ),
        )
        assert isinstance(created, models.UserOut), created
    users = _api("api.administration.users_list").sync(client=admin)
    assert {"amal", "hadi"} <= {u.username for u in users.items}
    partner = _api("api.administration.api_clients_create").sync(
        client=admin,
        body=models.ApiClientCreate.from_dict(
            {
                "agency_id": str(partner_agency.id),
                "name": "Partner Health system",
                "scopes": ["referrals:read", "referrals:respond"],
            }
        ),
    )
    assert isinstance(partner, models.ApiClientCreated), partner

    caseworker = login("amal")
    body = json.loads(json.dumps(REQUEST_EXAMPLES["CaseCreate"]))
    body["child"]["given_name"] = ARABIC_NAME
    case = _api("api.cases.cases_create").sync(
        client=caseworker, body=models.CaseCreate.from_dict(body)
    )
    assert isinstance(case, models.CaseCreated), case
    assert case.child.given_name == ARABIC_NAME

    # Typed on an Arabic keyboard (ي instead of the Kurdish ی): still found.
    found = _api("api.cases.cases_list").sync(client=caseworker, name="ئاڤين")
    assert [c.id for c in found.items] == [case.id]

    updated = _api("api.cases.cases_update").sync(
        case.id,
        client=caseworker,
        body=models.CasePatch.from_dict({"risk_level": "medium"}),
        if_match=f'"{case.version}"',
    )
    assert isinstance(updated, models.CaseOut), updated
    assert updated.version == case.version + 1 and updated.risk_level.value == "medium"
    stale = _api("api.cases.cases_update").sync_detailed(
        case.id,
        client=caseworker,
        body=models.CasePatch.from_dict({"risk_level": "low"}),
        if_match=f'"{case.version}"',
    )
    assert stale.status_code == 412 and isinstance(stale.parsed, models.Problem)

    note = _api("api.cases.cases_create_note").sync(
        case.id, client=caseworker, body=models.NoteCreate(text="Home visit done.")
    )
    assert isinstance(note, models.NoteOut), note

    referral_body = dict(REQUEST_EXAMPLES["ReferralCreate"], to_agency_id=str(partner_agency.id))
    referral = _api("api.referrals.cases_create_referral").sync(
        case.id, client=caseworker, body=models.ReferralCreate.from_dict(referral_body)
    )
    assert isinstance(referral, models.StaffReferral), referral
    assert referral.status.value == "pending_approval"

    supervisor = login("hadi")
    approved = _api("api.referrals.referrals_approve").sync(referral.id, client=supervisor)
    assert isinstance(approved, models.StaffReferral), approved
    assert approved.status.value == "sent"

    token = _api("api.auth.auth_token").sync(
        client=anonymous,
        body=models.BodyAuthToken(
            grant_type="client_credentials",
            client_id=partner.client_id,
            client_secret=partner.client_secret,
        ),
    )
    assert isinstance(token, models.ClientTokenResponse), token
    partner_client = generated.AuthenticatedClient(
        base_url="http://testserver", token=token.access_token, httpx_args=transport
    )
    seen = _api("api.referrals.referrals_get").sync(referral.id, client=partner_client)
    assert isinstance(seen, models.PartnerReferral), seen
    assert seen.case is not None
    # The shared case fields are a typed model: an attribute per shareable path, the wire
    # keys (`child.given_name`) kept.
    assert isinstance(seen.case, models.SharedCaseFields), seen.case
    assert seen.case.child_given_name == ARABIC_NAME
    assert seen.case.to_dict()["child.given_name"] == ARABIC_NAME
