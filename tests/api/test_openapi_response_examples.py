"""Every answer in /openapi.json shows an example, and every example is valid against the schema
the same answer declares (JSON Schema 2020-12, formats checked: a `date-time` must be one, an
id a UUID). Examples live in `api/examples.py` or on the models; the document builds pages and
problem answers from them. A model that gains a required field, or an example that names a
field no longer there, fails here, so the examples a generated client's users read stay true."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.config import Settings
from services.policy import Role
from tests.factories import API, case_body, make_agency, make_user, user_headers
from tests.openapi_support import errors_of, validator_for


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _responses(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, media type, media) for every response body the document declares."""
    return [
        (f"{method.upper()} {path} {code}", media_type, media)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for code, response in operation["responses"].items()
        for media_type, media in response.get("content", {}).items()
    ]


def test_every_response_has_an_example(document: dict[str, Any]) -> None:
    responses = _responses(document)
    assert len(responses) > 300
    missing = [
        f"{name} ({media_type})" for name, media_type, media in responses if "example" not in media
    ]
    assert missing == [], (
        "add an example for these answers (api/examples.py RESPONSE_EXAMPLES, or the model's "
        "own `examples`): " + ", ".join(missing)
    )


def test_every_response_example_is_valid_against_its_schema(document: dict[str, Any]) -> None:
    invalid = []
    for name, media_type, media in _responses(document):
        if "example" not in media:
            continue
        validator = validator_for(document, media["schema"])
        errors = errors_of(validator, media["example"])
        if errors:
            invalid.append(f"{name} ({media_type}): {errors[:3]}")
    assert invalid == [], "\n".join(invalid)


def test_every_schema_example_is_valid_against_its_schema(document: dict[str, Any]) -> None:
    """The examples shown beside the schemas themselves (a model's own, or a request's) are
    valid too: FastAPI strips their nulls, which the document puts back."""
    schemas = document["components"]["schemas"]
    invalid = []
    for name, schema in schemas.items():
        validator = validator_for(document, {"$ref": f"#/components/schemas/{name}"})
        for example in schema.get("examples", []):
            if errors_of(validator, example):
                invalid.append(f"{name}: {errors_of(validator, example)[:3]}")
    assert any(schema.get("examples") for schema in schemas.values())
    assert invalid == [], "\n".join(invalid)


def test_the_validation_really_rejects_a_wrong_example(document: dict[str, Any]) -> None:
    """The check above can fail: a wrong type, a malformed id or time, or an unknown field in
    an example is refused."""
    schema = document["paths"][f"{API}/cases/{{case_id}}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    good = schema["example"]
    validator = validator_for(document, schema["schema"])
    assert validator.is_valid(good)
    for bad in (
        {**good, "version": "1"},
        {**good, "id": "not-a-uuid"},
        {**good, "created_at": "yesterday"},
        {**good, "favourite_colour": "blue"},
        {k: v for k, v in good.items() if k != "case_number"},
        {**good, "child": {**good["child"], "sex": "boy"}},
    ):
        assert not validator.is_valid(bad), json.dumps(bad, ensure_ascii=False)[:200]


def test_success_examples_show_every_field_of_their_answer(document: dict[str, Any]) -> None:
    """A 2xx example of an object lists every property its schema has (with null where it is
    empty), as the real answer does: an integrator sees the whole shape."""
    schemas = document["components"]["schemas"]
    partial = []
    for name, _, media in _responses(document):
        example, ref = media.get("example"), str(media["schema"].get("$ref", ""))
        if not name.split()[-1].startswith("2") or not ref or not isinstance(example, dict):
            continue
        properties = set(schemas[ref.rsplit("/", 1)[-1]].get("properties", {}))
        if properties - set(example):
            partial.append(f"{name}: no {sorted(properties - set(example))}")
    assert partial == [], (
        "add these fields to the answer's example (api/examples.py RESPONSE_EXAMPLES, or the "
        "model's own `examples`; null where the field is empty):\n" + "\n".join(partial)
    )


def test_a_real_answer_has_the_keys_its_example_shows(
    client: TestClient, db: Session, settings: Settings, document: dict[str, Any]
) -> None:
    """The example of `POST /cases` and of `GET /cases/{id}` have the keys the server really
    sends, so the examples are not merely valid but faithful."""
    agency = make_agency(db)
    headers = user_headers(db, make_user(db, agency, Role.CASEWORKER), settings)
    created = client.post(f"{API}/cases", json=case_body(), headers=headers)
    assert created.status_code == 201, created.text
    read = client.get(f"{API}/cases/{created.json()['id']}", headers=headers)
    assert read.status_code == 200
    paths = document["paths"]
    create_example = paths[f"{API}/cases"]["post"]["responses"]["201"]["content"][
        "application/json"
    ]["example"]
    read_example = paths[f"{API}/cases/{{case_id}}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["example"]
    assert set(created.json()) == set(create_example)
    assert set(read.json()) == set(read_example)
    assert set(read.json()["child"]) == set(read_example["child"])
