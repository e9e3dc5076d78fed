"""audit: the hash-chained audit_events table, insert-only

Triggers reject UPDATE and DELETE of any row (and, on PostgreSQL, TRUNCATE), so the application
cannot change history even through a bug. They do not stop a database superuser or the table's
owner (who may disable triggers): that is what the hash chain and the signed checkpoints catch.
In production the application connects as a role that may only INSERT and SELECT on
`audit_events` and does not own it (README: "Database roles").

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=32), nullable=True),
        sa.Column("actor_scopes", sa.String(length=255), nullable=True),
        sa.Column("actor_agency_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"])
    op.create_index("ix_audit_events_actor_id_seq", "audit_events", ["actor_id", "seq"])
    op.create_index("ix_audit_events_case_id_seq", "audit_events", ["case_id", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_APPEND)
        op.execute(
            "CREATE TRIGGER audit_events_insert_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION haven_audit_events_insert_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION haven_audit_events_insert_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} "
                "ON audit_events BEGIN "
                f"SELECT RAISE(ABORT, 'audit_events is append-only: {operation} refused'); END"
            )


PG_FUNCTION = """
CREATE OR REPLACE FUNCTION haven_audit_events_insert_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


# Appends a commit's events to the chain in one call, under the chain lock (services/audit/log.py):
# each event carries the canonical text of its content (`prefix`, services/audit/chain.py); the
# function takes the lock, reads the head, and completes each hash with `<seq>,"<prev_hash>"]`.
PG_APPEND = """
CREATE OR REPLACE FUNCTION haven_audit_append(lock_key bigint, events jsonb) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    first_seq bigint;
    new_hash text;
    e jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT seq, hash INTO head_seq, head_hash FROM audit_events ORDER BY seq DESC LIMIT 1;
    head_seq := coalesce(head_seq, 0);
    head_hash := coalesce(head_hash, repeat('0', 64));
    first_seq := head_seq + 1;
    FOR e IN SELECT value FROM jsonb_array_elements(events) LOOP
        head_seq := head_seq + 1;
        new_hash := encode(sha256(convert_to(
            (e->>'prefix') || head_seq::text || ',"' || head_hash || '"]', 'UTF8')), 'hex');
        INSERT INTO audit_events (
            seq, at, actor_type, actor_id, actor_role, actor_scopes, actor_agency_id, action,
            resource_type, resource_id, case_id, fields, outcome, client_address, request_id,
            detail, prev_hash, hash
        ) VALUES (
            head_seq, (e->>'at')::timestamptz, e->>'actor_type', (e->>'actor_id')::uuid,
            e->>'actor_role', e->>'actor_scopes', (e->>'actor_agency_id')::uuid, e->>'action',
            e->>'resource_type', e->>'resource_id', (e->>'case_id')::uuid, e->>'fields',
            e->>'outcome', e->>'client_address', e->>'request_id', e->>'detail', head_hash,
            new_hash
        );
        head_hash := new_hash;
    END LOOP;
    RETURN ARRAY[first_seq::text, head_seq::text, head_hash];
END
$$
"""


def downgrade() -> None:
    op.drop_table("audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS haven_audit_append(bigint, jsonb)")
        op.execute("DROP FUNCTION IF EXISTS haven_audit_events_insert_only()")
