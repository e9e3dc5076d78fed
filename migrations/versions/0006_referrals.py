"""referrals: referrals and partner updates (issue 6)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("from_agency_id", sa.Uuid(), nullable=False),
        sa.Column("to_agency_id", sa.Uuid(), nullable=False),
        sa.Column("service_type", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shared_fields", sa.JSON(), nullable=False),
        sa.Column("reason_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("consent_given_by", sa.String(length=32), nullable=False),
        sa.Column("consent_obtained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_note_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("respond_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_by", sa.Uuid(), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("responded_by", sa.Uuid(), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("completed_by", sa.Uuid(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("cancelled_by", sa.Uuid(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("consent_withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_withdrawn_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_referrals_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["from_agency_id"], ["agencies.id"], name=op.f("fk_referrals_from_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["to_agency_id"], ["agencies.id"], name=op.f("fk_referrals_to_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_referrals_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_referrals_approved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["rejected_by"], ["users.id"], name=op.f("fk_referrals_rejected_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["responded_by"], ["api_clients.id"], name=op.f("fk_referrals_responded_by_api_clients")
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"], ["api_clients.id"], name=op.f("fk_referrals_completed_by_api_clients")
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by"], ["users.id"], name=op.f("fk_referrals_cancelled_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["consent_withdrawn_by"],
            ["users.id"],
            name=op.f("fk_referrals_consent_withdrawn_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_index(op.f("ix_referrals_case_id"), "referrals", ["case_id"])
    op.create_index("ix_referrals_from_agency_id_status", "referrals", ["from_agency_id", "status"])
    op.create_index("ix_referrals_to_agency_id_status", "referrals", ["to_agency_id", "status"])
    op.create_table(
        "referral_updates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("author_type", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("author_agency_id", sa.Uuid(), nullable=False),
        sa.Column("note_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_updates_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_agency_id"],
            ["agencies.id"],
            name=op.f("fk_referral_updates_author_agency_id_agencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_updates")),
    )
    op.create_index(
        "ix_referral_updates_referral_id_created_at",
        "referral_updates",
        ["referral_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("referral_updates")
    op.drop_table("referrals")
