"""audit event cases: which cases a list or search event returned, indexed per case

A list or search now writes one audit event for the whole page, naming every returned case id
in its `detail` (covered by the chain's hash), instead of one event per case. This table, written
in the same transaction as the event, lets `GET /cases/{id}/access-log` find those events through
an index. Insert-only, like `audit_events` (triggers refuse UPDATE and DELETE, and TRUNCATE on
PostgreSQL). No foreign key to `audit_events`: like the events themselves, the rows must never
stand in the way of anything done to the events by their owner (a test that rewrites history to
prove verify catches it, a restore).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION haven_audit_event_cases_insert_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event_cases is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_event_cases",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name=op.f("pk_audit_event_cases")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_event_cases_insert_only BEFORE UPDATE OR DELETE "
            "ON audit_event_cases FOR EACH ROW "
            "EXECUTE FUNCTION haven_audit_event_cases_insert_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_cases_no_truncate BEFORE TRUNCATE ON audit_event_cases "
            "FOR EACH STATEMENT EXECUTE FUNCTION haven_audit_event_cases_insert_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_cases_no_{operation.lower()} BEFORE {operation} "
                "ON audit_event_cases BEGIN "
                f"SELECT RAISE(ABORT, 'audit_event_cases is append-only: {operation} refused'); "
                "END"
            )


def downgrade() -> None:
    op.drop_table("audit_event_cases")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS haven_audit_event_cases_insert_only()")
