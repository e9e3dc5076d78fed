"""Fixtures of the HTTP tests.

`world` is the referral world (tests/referrals_support.py): a referring agency's staff, two
partner agencies' clients and a case whose fields carry markers. The case-API tests use their own
`world` from tests/api/test_cases_helpers.py, which they import (a module's own fixture wins).
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from services.runtime import Runtime
from tests.referrals_support import World, build_world


@pytest.fixture
def world(db: Session, runtime: Runtime) -> World:
    return build_world(db, runtime.keyring, runtime.settings)
