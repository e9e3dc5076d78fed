"""account approval: users.pending_approval (a second person approves account changes)

An agency admin's creation of, promotion into, or password or second-factor reset of an account
that reads case content leaves it pending until a supervisor of the agency or a system admin
approves it. Existing accounts were never pending: the column starts false for every row.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("pending_approval", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("pending_approval")
