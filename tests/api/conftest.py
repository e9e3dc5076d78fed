"""Fixtures of the HTTP tests.

`world` is the cast of `tests.factories.World` with a case of `owner`'s whose fields carry
markers (tests/referrals_support.py). The case-API tests import the `world` of
tests/api/test_cases_helpers.py instead (the same cast without a case; a module's own fixture
wins).
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from services.runtime import Runtime
from tests.factories import World
from tests.referrals_support import world_with_case


@pytest.fixture
def world(db: Session, runtime: Runtime) -> World:
    return world_with_case(db, runtime.keyring, runtime.settings)
