"""tracing: tracing requests, their and cases' keyed name tokens, potential matches

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = "field IN ('child', 'father', 'grandfather', 'mother', 'family')"
KINDS = "kind IN ('skeleton', 'phonetic')"


def _tokens(table: str, owner: str, owner_table: str) -> None:
    op.create_table(
        table,
        sa.Column(owner, sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=8), nullable=False),
        sa.CheckConstraint(FIELDS, name=op.f(f"ck_{table}_field")),
        sa.CheckConstraint(KINDS, name=op.f(f"ck_{table}_kind")),
        sa.ForeignKeyConstraint(
            [owner],
            [f"{owner_table}.id"],
            name=op.f(f"fk_{table}_{owner}_{owner_table}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(owner, "field", "kind", "token", name=op.f(f"pk_{table}")),
    )
    op.create_index(f"ix_{table}_lookup", table, ["field", "kind", "token"], unique=False)


def upgrade() -> None:
    op.create_table(
        "tracing_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'matched', 'reunified', 'closed')",
            name=op.f("ck_tracing_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_tracing_requests_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_tracing_requests_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_keys.id"],
            name=op.f("fk_tracing_requests_data_key_id_data_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_requests")),
        sa.UniqueConstraint("reference", name=op.f("uq_tracing_requests_reference")),
        sa.UniqueConstraint("data_key_id", name=op.f("uq_tracing_requests_data_key_id")),
    )
    op.create_index(
        "ix_tracing_requests_agency_id_created_at",
        "tracing_requests",
        ["agency_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_tracing_requests_owner_id_created_at",
        "tracing_requests",
        ["owner_id", "created_at", "id"],
        unique=False,
    )
    op.create_index("ix_tracing_requests_status", "tracing_requests", ["status"], unique=False)
    _tokens("tracing_request_tokens", "request_id", "tracing_requests")
    _tokens("case_tracing_tokens", "case_id", "cases")
    op.create_table(
        "tracing_matches",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'confirmed', 'rejected')",
            name=op.f("ck_tracing_matches_status"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["tracing_requests.id"],
            name=op.f("fk_tracing_matches_request_id_tracing_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_tracing_matches_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_tracing_matches_decided_by_users")
        ),
        sa.PrimaryKeyConstraint("request_id", "case_id", name=op.f("pk_tracing_matches")),
    )
    op.create_index("ix_tracing_matches_case_id", "tracing_matches", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tracing_matches_case_id", table_name="tracing_matches")
    op.drop_table("tracing_matches")
    for table in ("case_tracing_tokens", "tracing_request_tokens"):
        op.drop_index(f"ix_{table}_lookup", table_name=table)
        op.drop_table(table)
    for index in ("status", "owner_id_created_at", "agency_id_created_at"):
        op.drop_index(f"ix_tracing_requests_{index}", table_name="tracing_requests")
    op.drop_table("tracing_requests")
