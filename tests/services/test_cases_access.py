"""`services/cases/access.py`, the interface referrals use: visibility, data key, field values."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session

from services.cases.access import (
    CASE_FIELD_PATHS,
    case_data_key,
    decrypt_for_case,
    encrypt_for_case,
    load_visible_case,
    read_case_fields,
)
from services.cases.intake import create_case
from services.config import Settings
from services.crypto import DecryptionError, Keyring, init_keyring
from services.errors import Forbidden, NotFound
from services.policy import Action, Role
from tests.factories import case_body, make_agency, make_user, principal_of

BODY: dict[str, Any] = case_body(
    child={
        "given_name": "ئاڤین",
        "family_name": "Hassan",
        "sex": "female",
        "date_of_birth": "2014-03-09",
        "estimated_age": None,
    },
    location={"governorate": "Duhok", "district": "Zakho", "address": None},
    caregivers=[{"name": "Layla", "relationship": "aunt", "phone": None}],
    protection_concerns=["caafag"],
    narrative="Story",
)


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return init_keyring(settings)


def test_access_interface(db: Session, keyring: Keyring, settings: Settings) -> None:
    agency, other = make_agency(db), make_agency(db)
    owner = principal_of(make_user(db, agency, Role.CASEWORKER))
    colleague = principal_of(make_user(db, agency, Role.CASEWORKER))
    boss = principal_of(make_user(db, agency, Role.SUPERVISOR))
    outsider = principal_of(make_user(db, other, Role.SUPERVISOR))
    admin = principal_of(make_user(db, agency, Role.AGENCY_ADMIN))
    case_id = create_case(db, keyring, settings, owner, BODY).case.id

    case = load_visible_case(db, boss, case_id, Action.CASE_READ)
    assert load_visible_case(db, owner, case_id, Action.REFERRAL_CREATE).id == case_id
    for who in (colleague, outsider):
        with pytest.raises(NotFound) as missing:
            load_visible_case(db, who, case_id, Action.CASE_READ)
        assert missing.value.case_id == case_id
    with pytest.raises(Forbidden):
        load_visible_case(db, admin, case_id, Action.CASE_READ)
    with pytest.raises(NotFound):
        load_visible_case(db, boss, uuid.uuid4(), Action.CASE_READ)

    everything = read_case_fields(db, keyring, case, sorted(CASE_FIELD_PATHS))
    assert set(everything) == CASE_FIELD_PATHS
    assert everything["child.given_name"] == "ئاڤین"
    assert everything["caregivers"] == BODY["caregivers"]
    assert everything["risk_level"] == "high"
    assert read_case_fields(db, keyring, case, ["location.district"]) == {
        "location.district": "Zakho"
    }
    with pytest.raises(KeyError):
        read_case_fields(db, keyring, case, ["child.secret"])

    dek = case_data_key(db, keyring, case)
    rid = uuid.uuid4()
    blob = encrypt_for_case(dek, "نص", table="referrals", record_id=rid, field="reason")
    assert decrypt_for_case(dek, blob, table="referrals", record_id=rid, field="reason") == "نص"
    with pytest.raises(DecryptionError):
        decrypt_for_case(dek, blob, table="referrals", record_id=uuid.uuid4(), field="reason")


def test_case_content_is_bound_to_its_row(
    db: Session, keyring: Keyring, settings: Settings
) -> None:
    """A ciphertext copied onto another case fails to decrypt (associated data)."""
    agency = make_agency(db)
    owner = principal_of(make_user(db, agency, Role.CASEWORKER))
    one = create_case(db, keyring, settings, owner, BODY).case
    two = create_case(db, keyring, settings, owner, BODY).case
    two_key = case_data_key(db, keyring, two)
    two.content = one.content
    from services.cases.content import decrypt_document

    with pytest.raises(DecryptionError):
        decrypt_document(two_key, two)
