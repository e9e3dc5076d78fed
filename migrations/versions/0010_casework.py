"""casework: assessments, plans and their versions, services delivered, follow-ups, stage moves,
closures; the case's schedule columns

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('initial', 'comprehensive', 'review')", name=op.f("ck_case_assessments_kind")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_case_assessments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_assessments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assessments")),
    )
    op.create_index(
        "ix_case_assessments_case_id_created_at",
        "case_assessments",
        ["case_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "case_closures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("closed_by", sa.Uuid(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_closures_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["users.id"], name=op.f("fk_case_closures_closed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_closures")),
    )
    op.create_index(
        "ix_case_closures_case_id_closed_at",
        "case_closures",
        ["case_id", "closed_at", "id"],
        unique=False,
    )
    op.create_table(
        "case_follow_ups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("next_due_on", sa.Date(), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_case_follow_ups_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_follow_ups_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_follow_ups")),
    )
    op.create_index(
        "ix_case_follow_ups_case_id_created_at",
        "case_follow_ups",
        ["case_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "case_plan_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_due_on", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'approved')", name=op.f("ck_case_plan_versions_status")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_case_plan_versions_approved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_case_plan_versions_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_plan_versions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_plan_versions")),
        sa.UniqueConstraint("case_id", "version", name=op.f("uq_case_plan_versions_case_id")),
    )
    op.create_table(
        "case_plans",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_due_on", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'approved')", name=op.f("ck_case_plans_status")),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_case_plans_approved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_plans_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_case_plans_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_plans")),
    )
    op.create_table(
        "case_stage_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=False),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "from_stage IN ('registration', 'assessment', 'case_plan', 'implementation', 'follow_up', 'closure')",
            name=op.f("ck_case_stage_events_from_stage"),
        ),
        sa.CheckConstraint(
            "to_stage IN ('registration', 'assessment', 'case_plan', 'implementation', 'follow_up', 'closure')",
            name=op.f("ck_case_stage_events_to_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_case_stage_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_stage_events_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_stage_events")),
    )
    op.create_index(
        "ix_case_stage_events_case_id_at",
        "case_stage_events",
        ["case_id", "at", "id"],
        unique=False,
    )
    op.create_table(
        "case_services",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("service_type", sa.String(length=32), nullable=False),
        sa.Column("provided_on", sa.Date(), nullable=False),
        sa.Column("provided_by", sa.String(length=16), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by_type", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "provided_by IN ('own_agency', 'partner')", name=op.f("ck_case_services_provided_by")
        ),
        sa.CheckConstraint(
            "recorded_by_type IN ('user', 'client')", name=op.f("ck_case_services_recorded_by_type")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_services_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_case_services_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_services")),
    )
    op.create_index(
        "ix_case_services_case_id_created_at",
        "case_services",
        ["case_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_case_services_referral_id"), "case_services", ["referral_id"], unique=False
    )
    op.add_column("cases", sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("plan_action_due_on", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("plan_review_due_on", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("follow_up_due_on", sa.Date(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 has it): a batch copy of `cases` would drop and
    # recreate the table that every case record references with ON DELETE CASCADE.
    for column in ("follow_up_due_on", "plan_review_due_on", "plan_action_due_on", "assessed_at"):
        op.drop_column("cases", column)
    op.drop_index(op.f("ix_case_services_referral_id"), table_name="case_services")
    op.drop_index("ix_case_services_case_id_created_at", table_name="case_services")
    op.drop_table("case_services")
    op.drop_index("ix_case_stage_events_case_id_at", table_name="case_stage_events")
    op.drop_table("case_stage_events")
    op.drop_table("case_plans")
    op.drop_table("case_plan_versions")
    op.drop_index("ix_case_follow_ups_case_id_created_at", table_name="case_follow_ups")
    op.drop_table("case_follow_ups")
    op.drop_index("ix_case_closures_case_id_closed_at", table_name="case_closures")
    op.drop_table("case_closures")
    op.drop_index("ix_case_assessments_case_id_created_at", table_name="case_assessments")
    op.drop_table("case_assessments")
