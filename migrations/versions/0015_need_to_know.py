"""need to know: restricted cases, access lists, break-glass uses, read tracking, alerts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "case_access_list",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=False),
        _at("added_at"),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_access_list_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_access_list_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_case_access_list_added_by_users")
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_access_list")),
    )
    op.create_index(
        "ix_case_access_list_user_id_case_id", "case_access_list", ["user_id", "case_id"]
    )
    op.create_table(
        "break_glass_uses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reason_sealed", sa.LargeBinary(), nullable=False),
        _at("used_at"),
        _at("expires_at"),
        _at("reviewed_at", nullable=True),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("review_note_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_break_glass_uses_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_break_glass_uses_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_break_glass_uses_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_uses")),
    )
    op.create_index(
        "ix_break_glass_uses_user_id_case_id_expires_at",
        "break_glass_uses",
        ["user_id", "case_id", "expires_at"],
    )
    op.create_index(
        "ix_break_glass_uses_agency_id_used_at", "break_glass_uses", ["agency_id", "used_at", "id"]
    )
    op.create_index(
        "ix_break_glass_uses_reviewed_at_used_at", "break_glass_uses", ["reviewed_at", "used_at"]
    )
    op.create_table(
        "read_tracks",
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        _at("read_at"),
        sa.CheckConstraint(
            "subject_type IN ('case', 'referral')", name=op.f("ck_read_tracks_subject_type")
        ),
        sa.PrimaryKeyConstraint(
            "actor_id", "subject_type", "subject_id", name=op.f("pk_read_tracks")
        ),
    )
    op.create_index("ix_read_tracks_actor_id_read_at", "read_tracks", ["actor_id", "read_at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        _at("raised_at"),
        sa.Column("distinct_reads", sa.Integer(), nullable=False),
        sa.Column("read_limit", sa.Integer(), nullable=False),
        sa.Column("suspends", sa.Boolean(), nullable=False),
        _at("cleared_at", nullable=True),
        sa.Column("cleared_by", sa.Uuid(), nullable=True),
        sa.Column("clear_note_sealed", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("kind IN ('bulk_read')", name=op.f("ck_alerts_kind")),
        sa.CheckConstraint("actor_type IN ('user', 'client')", name=op.f("ck_alerts_actor_type")),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_alerts_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["cleared_by"], ["users.id"], name=op.f("fk_alerts_cleared_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_agency_id_raised_at", "alerts", ["agency_id", "raised_at", "id"])
    op.create_index("ix_alerts_actor_id_raised_at", "alerts", ["actor_id", "raised_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_actor_id_raised_at", table_name="alerts")
    op.drop_index("ix_alerts_agency_id_raised_at", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_read_tracks_actor_id_read_at", table_name="read_tracks")
    op.drop_table("read_tracks")
    for index in ("reviewed_at_used_at", "agency_id_used_at", "user_id_case_id_expires_at"):
        op.drop_index(f"ix_break_glass_uses_{index}", table_name="break_glass_uses")
    op.drop_table("break_glass_uses")
    op.drop_index("ix_case_access_list_user_id_case_id", table_name="case_access_list")
    op.drop_table("case_access_list")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("restricted")
