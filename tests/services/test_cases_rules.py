"""Unit tests of the case rules: the stage machine, scheduling, partial-update merging,
If-Match parsing, cursors, the idempotency fingerprint, case numbers, document validation."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from models.cases import Case
from services.cases.concurrency import CASE_VERSIONS
from services.cases.content import validate_document
from services.cases.listing import OVERDUE, RECENT
from services.cases.numbers import next_case_number
from services.cases.schedule import next_action_due
from services.cases.stages import STAGES, TRANSITIONS, can_move
from services.cases.update import apply_changes
from services.config import Settings
from services.crypto import Keyring, init_keyring
from services.errors import InvalidInput, PreconditionFailed, PreconditionRequired
from services.kit.idempotency import fingerprint, key_hash
from tests.factories import make_agency

ALLOWED = {
    ("registration", "assessment"),
    ("assessment", "case_plan"),
    ("case_plan", "implementation"),
    ("implementation", "follow_up"),
    ("follow_up", "closure"),
    ("follow_up", "case_plan"),
}

parse_if_match = CASE_VERSIONS.parse_if_match
_KEYSETS = {"created": RECENT, "due": OVERDUE}


def encode_cursor(order: str, at: datetime, row_id: uuid.UUID) -> str:
    return _KEYSETS[order].encode((at, row_id))


def decode_cursor(cursor: str, order: str) -> tuple[datetime, uuid.UUID]:
    at, row_id = _KEYSETS[order].decode(cursor)
    return at, row_id


def test_stage_machine_allows_exactly_the_contract_moves() -> None:
    assert TRANSITIONS == ALLOWED
    for current, target in itertools.product(STAGES, STAGES):
        assert can_move(current, target) == ((current, target) in ALLOWED)


def _case(stage: str, risk: str, status: str = "open") -> Case:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    return Case(
        stage=stage,
        risk_level=risk,
        status=status,
        created_at=created,
        stage_changed_at=created + timedelta(days=10),
    )


@pytest.mark.parametrize("risk", ["high", "medium", "low"])
def test_schedule_follows_settings(settings: Settings, risk: str) -> None:
    first = {"high": 24, "medium": 72, "low": 168}[risk]
    review = {"high": 30, "medium": 60, "low": 90}[risk]
    registration = _case("registration", risk)
    assert next_action_due(settings, registration) == registration.created_at + timedelta(
        hours=first
    )
    planned = _case("case_plan", risk)
    assert next_action_due(settings, planned) == planned.stage_changed_at + timedelta(days=review)
    assert next_action_due(settings, _case("closure", risk, "closed")) is None


def test_schedule_reads_custom_settings(settings: Settings) -> None:
    custom = settings.model_copy(update={"first_action_hours_high": 2, "review_days_low": 7})
    assert next_action_due(custom, _case("registration", "high")) == datetime(
        2026, 1, 1, 2, tzinfo=UTC
    )
    assert next_action_due(custom, _case("follow_up", "low")) == datetime(2026, 1, 18, tzinfo=UTC)


def test_apply_changes_merges_sections_and_reports_changed_paths() -> None:
    document: dict[str, Any] = {
        "child": {"given_name": "A", "family_name": "B", "sex": "male", "date_of_birth": None},
        "location": {"governorate": "G", "district": "D", "address": None},
        "caregivers": [],
        "separation_status": "unknown",
        "protection_concerns": ["caafag"],
        "narrative": "n",
    }
    updated, changed = apply_changes(
        document,
        {
            "child": {"given_name": "A", "family_name": "C"},
            "location": {"address": "X"},
            "protection_concerns": ["caafag"],
            "narrative": None,
            "risk_level": "low",
        },
    )
    assert changed == ["child.family_name", "location.address", "narrative"]
    assert updated["child"] == {**document["child"], "family_name": "C"}
    assert updated["location"]["address"] == "X"
    assert updated["narrative"] is None
    assert document["child"]["family_name"] == "B"  # the original is untouched


@pytest.mark.parametrize(
    ("header", "version"), [('"3"', 3), ('W/"12"', 12), ("7", 7), (' "1" ', 1)]
)
def test_if_match_parsing(header: str, version: int) -> None:
    assert parse_if_match(header, required=True) == version


def test_if_match_missing_and_garbled() -> None:
    with pytest.raises(PreconditionRequired):
        parse_if_match(None, required=True)
    assert parse_if_match(None, required=False) is None
    for bad in ('"abc"', "*", '"1", "2"', "-1"):
        with pytest.raises(PreconditionFailed):
            parse_if_match(bad, required=True)


def test_cursor_round_trip_and_garbage() -> None:
    at = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    row = uuid.uuid4()
    assert decode_cursor(encode_cursor("created", at, row), "created") == (at, row)
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor("created", at, row), "due")
    for garbage in ("", "!!!", "e30", "bm90IGpzb24"):
        with pytest.raises(InvalidInput):
            decode_cursor(garbage, "created")


@hsettings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_decode_cursor_never_crashes(garbage: str) -> None:
    with contextlib.suppress(InvalidInput):
        decode_cursor(garbage, "created")


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return init_keyring(settings)


def test_fingerprint_is_keyed_canonical_and_opaque(keyring: Keyring, settings: Settings) -> None:
    a = fingerprint(keyring, "case.create", {"x": "Amal", "y": [1, 2]})
    b = fingerprint(keyring, "case.create", {"y": [1, 2], "x": "Amal"})
    assert a == b and len(a) == 64 and "Amal" not in a
    assert a != fingerprint(keyring, "case.create", {"x": "Amal", "y": [2, 1]})
    assert a != fingerprint(keyring, "note.create:1", {"x": "Amal", "y": [1, 2]})
    other = init_keyring(
        settings.model_copy(update={"key_file": settings.key_file.with_name("k2.json")})
    )
    assert a != fingerprint(other, "case.create", {"x": "Amal", "y": [1, 2]})
    assert key_hash(keyring, "k") != "k" and len(key_hash(keyring, "k")) == 64
    assert key_hash(keyring, "k") == key_hash(keyring, "k") != key_hash(keyring, "K")
    # Keyed: without the keyring a made-up key cannot be found again by guessing.
    assert key_hash(other, "k") != key_hash(keyring, "k")
    assert key_hash(keyring, "k") != hashlib.sha256(b"k").hexdigest()


def test_case_numbers_count_up_per_agency_and_year(db: Session) -> None:
    now = datetime(2031, 6, 1, tzinfo=UTC)
    one, two = make_agency(db).id, make_agency(db).id
    assert next_case_number(db, one, now) == "HVN-2031-000001"
    assert next_case_number(db, one, now) == "HVN-2031-000002"
    # Another agency starts at 1: its numbers say nothing about the first one's volume.
    assert next_case_number(db, two, now) == "HVN-2031-000001"
    assert next_case_number(db, one, datetime(2032, 1, 1, tzinfo=UTC)) == "HVN-2032-000001"
    assert next_case_number(db, one, now) == "HVN-2031-000003"


def test_validate_document_names_each_bad_concern() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_document(
            {"protection_concerns": ["caafag", "x", "caafag"], "child": {}}, today=date(2026, 1, 1)
        )
    assert [p.loc for p in caught.value.problems] == [
        ("body", "protection_concerns", 1),
        ("body", "protection_concerns", 2),
    ]
    with pytest.raises(InvalidInput):
        validate_document({"child": {"date_of_birth": "2026-01-02"}}, today=date(2026, 1, 1))
    validate_document({"child": {"date_of_birth": "2026-01-01"}}, today=date(2026, 1, 1))
