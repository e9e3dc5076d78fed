"""Schemathesis walks every operation of /openapi.json with generated input, as a supervisor,
as a caseworker and as a partner agency's API client: nothing may answer 5xx, and every answer
must match the documented schema.

(Schemathesis' own pytest fixture loader does not run under pytest 9, so the operations are
walked here with its hypothesis strategies directly.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy.orm import Session

from services.config import Settings
from services.policy import Role
from tests.factories import (
    client_headers,
    make_agency,
    make_api_client,
    make_user,
    user_headers,
)

PARTNER = "partner-client"
FUZZ_SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.slow
@pytest.mark.parametrize("who", [Role.SUPERVISOR, Role.CASEWORKER, PARTNER], ids=str)
def test_every_operation_with_generated_input(
    app: FastAPI, db: Session, settings: Settings, who: str
) -> None:
    if who == PARTNER:
        headers = client_headers(db, make_api_client(db, make_agency(db)), settings)
    else:
        headers = user_headers(db, make_user(db, make_agency(db), Role(who)), settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an unloadable operation raises
        operations += 1

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(
                headers=headers,
                checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
            )

        try:
            exercise()
        except Exception as error:  # noqa: BLE001  collect every operation's failure, report all
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert operations > 30
    assert failures == [], "\n\n".join(failures)
