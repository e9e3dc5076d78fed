"""tracing follow-ups: the case's own reunification record; idempotency records that concern no
case (a tracing request is not a case)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_reunifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("tracing_request_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_reunifications_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tracing_request_id"],
            ["tracing_requests.id"],
            name=op.f("fk_case_reunifications_tracing_request_id_tracing_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_case_reunifications_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reunifications")),
    )
    op.create_index(
        "ix_case_reunifications_case_id_recorded_at",
        "case_reunifications",
        ["case_id", "recorded_at"],
        unique=False,
    )
    # A tracing request's Idempotency-Key record names no case; erasure still finds a case's
    # records by case_id.
    with op.batch_alter_table("idempotency_records") as batch:
        batch.alter_column("case_id", existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_records WHERE case_id IS NULL")
    with op.batch_alter_table("idempotency_records") as batch:
        batch.alter_column("case_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_index("ix_case_reunifications_case_id_recorded_at", table_name="case_reunifications")
    op.drop_table("case_reunifications")
