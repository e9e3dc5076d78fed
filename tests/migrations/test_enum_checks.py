"""The database refuses values outside each enumerated column's set, and that set is exactly the
service's enum (so a new enum member needs a new migration, and the test says which).

`audit_events` has no CHECK on purpose (migration 0008 says why): an audit row is never refused,
and tampering with one is the hash chain's to catch."""

from __future__ import annotations

import re
from enum import StrEnum

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from models.db import make_engine
from services.alerts.enums import AlertKind, SubjectType
from services.cases.enums import CaseStatus, RiskLevel, Stage
from services.database import downgrade, migrate
from services.identity.enums import PrincipalKind, Role
from services.referrals.enums import ConsentBasis, ReferralStatus, ServiceType, Urgency
from tests.databases import empty_database, is_postgres

ENUMERATED: dict[tuple[str, str], type[StrEnum]] = {
    ("users", "role"): Role,
    ("cases", "status"): CaseStatus,
    ("cases", "stage"): Stage,
    ("cases", "risk_level"): RiskLevel,
    ("referrals", "status"): ReferralStatus,
    ("referrals", "service_type"): ServiceType,
    ("referrals", "urgency"): Urgency,
    ("referrals", "consent_given_by"): ConsentBasis,
    ("referral_updates", "author_type"): PrincipalKind,
    ("read_tracks", "subject_type"): SubjectType,
    ("alerts", "kind"): AlertKind,
    ("alerts", "actor_type"): PrincipalKind,
}
_QUOTED = re.compile(r"'([^']*)'")


def _checks(url: str) -> dict[tuple[str, str], set[str]]:
    """(table, column) -> the values its CHECK constraint lists, as the database reports it."""
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        found: dict[tuple[str, str], set[str]] = {}
        for table, column in ENUMERATED:
            for check in inspector.get_check_constraints(table):
                if check["name"] == f"ck_{table}_{column}":
                    found[(table, column)] = set(_QUOTED.findall(check["sqltext"]))
        return found
    finally:
        engine.dispose()


def test_every_enumerated_column_allows_exactly_its_enum(database_url: str) -> None:
    found = _checks(database_url)
    for key, enum in ENUMERATED.items():
        assert key in found, f"{key[0]}.{key[1]} has no CHECK constraint"
        assert found[key] == {member.value for member in enum}, (
            f"{key[0]}.{key[1]}: the database allows {sorted(found[key])}, the service "
            f"{enum.__name__} has {sorted(m.value for m in enum)}: add a migration"
        )


def test_a_value_outside_the_set_is_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn, conn.begin() as outer:
            conn.execute(
                text("INSERT INTO agencies (id, name, created_at) VALUES (:id, :n, :at)"),
                {"id": "0" * 32, "n": "Check agency", "at": "2026-01-01 00:00:00"},
            )
            row = {
                "id": "1" * 32,
                "u": "check-user",
                "h": "x",
                "a": "0" * 32,
                "at": "2026-01-01 00:00:00",
            }
            insert = text(
                "INSERT INTO users (id, username, password_hash, role, agency_id, is_active,"
                " created_at, updated_at, must_change_password)"
                " VALUES (:id, :u, :h, :role, :a, true, :at, :at, false)"
            )
            with pytest.raises((IntegrityError, DBAPIError)), conn.begin_nested():
                conn.execute(insert, {**row, "role": "emperor"})
            conn.execute(insert, {**row, "role": Role.AUDITOR.value})
            outer.rollback()
    finally:
        engine.dispose()


def test_adding_the_checks_keeps_every_row_and_the_audit_triggers() -> None:
    """SQLite rebuilds a table to add a constraint: the rows that reference it must survive
    (no ON DELETE CASCADE from the drop), and the audit log stays append-only."""
    with empty_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine, "0007")
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO agencies (id, name, created_at) VALUES (:id, 'A', :at)"),
                    {"id": "0" * 32, "at": "2026-01-01 00:00:00"},
                )
                conn.execute(
                    text(
                        "INSERT INTO users (id, username, password_hash, role, agency_id,"
                        " is_active, created_at, updated_at, must_change_password)"
                        " VALUES (:id, 'u', 'x', 'caseworker', :a, true, :at, :at, false)"
                    ),
                    {"id": "1" * 32, "a": "0" * 32, "at": "2026-01-01 00:00:00"},
                )
                conn.execute(
                    text(
                        "INSERT INTO recovery_codes (id, user_id, code_hash, created_at)"
                        " VALUES (:id, :u, 'h', :at)"
                    ),
                    {"id": "2" * 32, "u": "1" * 32, "at": "2026-01-01 00:00:00"},
                )
            migrate(engine)
            downgrade(engine, "0007")
            migrate(engine)
            with engine.connect() as conn:
                # recovery_codes references users ON DELETE CASCADE: rebuilding `users` twice
                # must not have deleted it.
                assert conn.execute(text("SELECT count(*) FROM recovery_codes")).scalar() == 1
                assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 1
                if not is_postgres():
                    triggers = conn.execute(
                        text(
                            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                            " AND tbl_name = 'audit_events'"
                        )
                    ).scalars()
                    assert set(triggers) == {"audit_events_no_update", "audit_events_no_delete"}
                foreign_keys = conn.execute(
                    text("PRAGMA foreign_keys") if not is_postgres() else text("SELECT 1")
                ).scalar()
                assert foreign_keys == 1  # enforcement is back on for the app's connections
        finally:
            engine.dispose()
