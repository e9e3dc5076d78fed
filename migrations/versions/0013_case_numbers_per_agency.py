"""case numbers per agency: a counter per (agency, year), numbers unique within an agency

Case numbers were counted across all agencies, so each agency could read the others' intake
volume from its own numbers. Each agency now counts its own (`agency_case_counters`), and a
number is unique within its agency (cases and tombstones). Every agency's counter starts after
the highest number it already holds for that year (erased cases included), so no number is
handed out twice within an agency; the numbers already issued keep their value.

SQLite cannot change a table's constraints: `cases` and `case_tombstones` are rebuilt (batch
mode), with foreign keys not enforced while the migration runs (`services.database.migrate`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("cases", "case_tombstones")

# `HVN-2026-000123`: the year is characters 5-8, the number starts at character 10.
_ISSUED = """
    SELECT agency_id, CAST(substr(case_number, 5, 4) AS INTEGER) AS year,
           CAST(substr(case_number, 10) AS INTEGER) AS value
    FROM (SELECT agency_id, case_number FROM cases
          UNION ALL SELECT agency_id, case_number FROM case_tombstones) AS issued
    WHERE case_number LIKE 'HVN-____-%'
"""


def upgrade() -> None:
    op.create_table(
        "agency_case_counters",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_agency_case_counters_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("agency_id", "year", name=op.f("pk_agency_case_counters")),
    )
    op.execute(
        "INSERT INTO agency_case_counters (agency_id, year, last_value) "  # noqa: S608  constants
        f"SELECT agency_id, year, MAX(value) FROM ({_ISSUED}) AS numbers GROUP BY agency_id, year"
    )
    op.drop_table("case_number_counters")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_case_number", type_="unique")
            batch.create_unique_constraint(
                f"uq_{table}_agency_id_case_number", ["agency_id", "case_number"]
            )


def downgrade() -> None:
    # Numbers issued per agency may repeat across agencies; the global constraint comes back
    # only when they do not (else this step fails, and the database stays at this revision).
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_agency_id_case_number", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_case_number", ["case_number"])
    op.create_table(
        "case_number_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_case_number_counters")),
    )
    op.execute(
        "INSERT INTO case_number_counters (year, last_value) "  # noqa: S608  constants only
        f"SELECT year, MAX(value) FROM ({_ISSUED}) AS numbers GROUP BY year"
    )
    op.drop_table("agency_case_counters")
