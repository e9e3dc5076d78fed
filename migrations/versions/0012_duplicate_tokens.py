"""duplicate tokens: the backlog of cases registered before the compound duplicate tokens

The duplicate check at intake now looks cases up by compound blind-index tokens (full name and
birth date, or full name and estimated birth year) in `case_search_tokens`. A migration cannot
compute them (it has no keyring), so every case that exists now goes into `case_token_backlog`;
the duplicate check compares an intake with the cases there the old way, and the
`reindex_cases` job writes their tokens and empties the backlog.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_token_backlog",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_token_backlog_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_token_backlog")),
    )
    op.execute("INSERT INTO case_token_backlog (case_id) SELECT id FROM cases")


def downgrade() -> None:
    op.drop_table("case_token_backlog")
