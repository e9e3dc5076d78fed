"""catch up on edits made to revisions 0002 and 0005 after they shipped

Two shipped revisions were edited in place: 0002 gained the insert-only triggers on
`audit_events` and, on PostgreSQL, the `haven_audit_append` function; 0005 replaced the index
`ix_cases_owner_id` with `ix_cases_owner_id_created_at` (owner_id, created_at, id), which serves a
caseworker's newest-first page. A database migrated with the earlier text of those revisions was
already "at head" and never got the changes. This revision brings such a database level with a
fresh one, and does nothing on a database that already has them: every step checks first (the
inspector, `pg_trigger`, `IF NOT EXISTS`, `CREATE OR REPLACE`).

Downgrade does nothing: on a fresh database these objects belong to 0002 and 0005, and going
back to 0006 must leave what 0006 leaves.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    _owner_index(bind)
    if bind.dialect.name == "postgresql":
        _postgresql_audit(bind)
    else:
        _sqlite_audit()


def _owner_index(bind: sa.Connection) -> None:
    indexes = {index["name"] for index in sa.inspect(bind).get_indexes("cases")}
    if "ix_cases_owner_id_created_at" not in indexes:
        op.create_index("ix_cases_owner_id_created_at", "cases", ["owner_id", "created_at", "id"])
    if "ix_cases_owner_id" in indexes:
        # The new index's leading column covers the owner_id foreign key on its own.
        op.drop_index("ix_cases_owner_id", table_name="cases")


def _postgresql_audit(bind: sa.Connection) -> None:
    op.execute(PG_INSERT_ONLY)
    op.execute(PG_APPEND)
    existing = set(
        bind.execute(
            sa.text(
                "SELECT tgname FROM pg_trigger "
                "WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal"
            )
        ).scalars()
    )
    if "audit_events_insert_only" not in existing:
        op.execute(
            "CREATE TRIGGER audit_events_insert_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION haven_audit_events_insert_only()"
        )
    if "audit_events_no_truncate" not in existing:
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION haven_audit_events_insert_only()"
        )


def _sqlite_audit() -> None:
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS audit_events_no_{operation.lower()} BEFORE {operation} "
            "ON audit_events BEGIN "
            f"SELECT RAISE(ABORT, 'audit_events is append-only: {operation} refused'); END"
        )


# The same text as revision 0002's functions (a revision keeps its own copy: it must not change
# when later code does). CREATE OR REPLACE leaves an up-to-date database as it is.
PG_INSERT_ONLY = """
CREATE OR REPLACE FUNCTION haven_audit_events_insert_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

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
    pass
