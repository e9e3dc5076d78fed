"""/openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator, in the test run): a
generator or a linter such as `redocly lint` reports no errors on it. Run by hand,
`npx @redocly/cli lint --extends=recommended openapi.json` warns only that `/health`, `/ready`
and `/problems` list no 4xx answer, which they never give."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.factories import API


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


@pytest.mark.parametrize(
    "breakage",
    ["a response without a description", "a parameter without in"],
)
def test_the_check_refuses_a_broken_document(document: dict[str, Any], breakage: str) -> None:
    broken = copy.deepcopy(document)
    operation = broken["paths"][f"{API}/cases/{{case_id}}"]["get"]
    if breakage == "a response without a description":
        del operation["responses"]["200"]["description"]
    else:
        del operation["parameters"][0]["in"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)
