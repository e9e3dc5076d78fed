"""enum checks: CHECK constraints on every enumerated column

Each column that holds one value of a fixed set (a role, a case's status, stage and risk level,
a referral's status, service, urgency and consent basis, an audit event's actor type, actor role
and outcome) refuses any other value, so a bug or a hand-written UPDATE cannot store a state the
code does not know. The sets are written out here, as they stand at this revision: a migration
is a snapshot, and a later change to a set is a new revision. A test compares them with the
service's enums, so the two cannot drift apart unnoticed.

`audit_events` gets none: an audit row must never be refused (the request would fail after its
work was done, and a refusal would go unrecorded), its values come only from `audit.record`,
which takes the `Action`, `ActorType` and `AuditOutcome` enums, and a changed row is the hash
chain's to catch (`haven audit verify` names the first changed row, whatever was changed).

SQLite cannot add a constraint to a table; the table is rebuilt (batch mode), with foreign keys
not enforced while the migration runs (`services.database.migrate`), so dropping the old table
does not cascade to the rows that reference it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("system_admin", "agency_admin", "supervisor", "caseworker", "auditor")

CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {"role": ROLES},
    "cases": {
        "status": ("open", "closed"),
        "stage": (
            "registration",
            "assessment",
            "case_plan",
            "implementation",
            "follow_up",
            "closure",
        ),
        "risk_level": ("high", "medium", "low"),
    },
    "referrals": {
        "status": (
            "pending_approval",
            "sent",
            "rejected",
            "accepted",
            "declined",
            "in_progress",
            "completed",
            "cancelled",
        ),
        "service_type": (
            "mhpss",
            "medical",
            "rehabilitation",
            "education",
            "family_tracing",
            "alternative_care",
            "legal_aid",
            "documentation",
            "reintegration",
            "livelihoods",
            "shelter",
            "gbv_response",
        ),
        "urgency": ("high", "medium", "low"),
        "consent_given_by": ("caregiver", "child", "best_interest_override"),
    },
    "referral_updates": {"author_type": ("user", "client")},
}
"""table -> column -> the values it may hold (a NULL passes a CHECK, as it should)."""


def constraint_name(table: str, column: str) -> str:
    """`ck_<table>_<column>`, marked final (`op.f`) so no naming convention rewrites it."""
    return op.f(f"ck_{table}_{column}")


def _condition(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({listed})"


def upgrade() -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                batch.create_check_constraint(
                    constraint_name(table, column), _condition(column, values)
                )


def downgrade() -> None:
    for table, columns in reversed(CHECKS.items()):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(constraint_name(table, column), type_="check")
