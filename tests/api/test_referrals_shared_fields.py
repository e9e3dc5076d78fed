"""The referral's shared case fields are typed (`SharedCaseFields`: one optional, typed key per
shareable path) while the wire keeps its shape: `case` holds exactly the shared paths as keys
(`child.given_name`, ...), a shared but empty field is null, an unshared one absent."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.schemas.referrals import SharedCaseFields
from services.cases.content import CASE_FIELD_PATHS
from tests.factories import API, World
from tests.openapi_support import errors_of, validator_for
from tests.referrals_support import CAREGIVER_PHONE, MARKERS, referral_in

SCHEMA = "#/components/schemas/SharedCaseFields"


def test_every_shareable_path_has_one_typed_field() -> None:
    aliases = {field.alias or name for name, field in SharedCaseFields.model_fields.items()}
    assert aliases == set(CASE_FIELD_PATHS)


def test_the_document_types_each_shared_field(app: FastAPI) -> None:
    document = app.openapi()
    schemas = document["components"]["schemas"]
    shared = schemas["SharedCaseFields"]
    assert set(shared["properties"]) == set(CASE_FIELD_PATHS)
    assert shared.get("required", []) == []  # each key only when shared
    assert shared["additionalProperties"] is False
    for path, spec in shared["properties"].items():
        kinds = [option for option in spec.get("anyOf", [spec]) if option != {"type": "null"}]
        assert kinds and all("type" in k or "$ref" in k for k in kinds), path
    staff_case = schemas["StaffReferral"]["properties"]["case"]
    assert staff_case["$ref"] == SCHEMA
    partner_case = schemas["PartnerReferral"]["properties"]["case"]
    assert {"$ref": SCHEMA} in partner_case["anyOf"]
    assert shared["properties"]["child.date_of_birth"]["anyOf"][0]["format"] == "date"
    assert shared["properties"]["caregivers"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/CaregiverOut"
    }


def _read(client: TestClient, world: World, referral_id: str, who: str) -> dict[str, Any]:
    response = client.get(f"{API}/referrals/{referral_id}", headers=world.h[who])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_sharing_every_field_answers_each_with_its_type(
    client: TestClient, world: World, app: FastAPI
) -> None:
    everything = sorted(CASE_FIELD_PATHS)
    rid = referral_in(client, world, "accepted", shared_fields=everything)
    document = app.openapi()
    for who, schema in (("caseworker", "StaffReferral"), ("partner", "PartnerReferral")):
        answer = _read(client, world, rid, who)
        case = answer["case"]
        assert set(case) == set(everything), who
        assert case["child.given_name"] == MARKERS["child.given_name"]
        assert case["child.date_of_birth"] == MARKERS["child.date_of_birth"]
        assert case["child.sex"] == "female"
        assert case["child.estimated_age"] is None  # shared, but the case leaves it empty
        assert case["caregivers"] == [
            {"name": MARKERS["caregivers"], "relationship": "aunt", "phone": CAREGIVER_PHONE}
        ]
        assert case["protection_concerns"] == ["caafag", MARKERS["protection_concerns"]]
        assert case["risk_level"] == "high"
        assert case["separation_status"] == "separated"
        # The real answer is valid against the typed schema the document publishes.
        validator = validator_for(document, {"$ref": f"#/components/schemas/{schema}"})
        assert errors_of(validator, answer) == [], who


def test_only_the_shared_paths_are_keys(client: TestClient, world: World) -> None:
    rid = referral_in(
        client, world, "sent", shared_fields=["child.given_name", "child.estimated_age"]
    )
    for who in ("caseworker", "partner"):
        case = _read(client, world, rid, who)["case"]
        assert case == {
            "child.given_name": MARKERS["child.given_name"],
            "child.estimated_age": None,
        }
