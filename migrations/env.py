"""Alembic environment: runs against the connection the caller hands over, or HAVEN_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from models.all import metadata
from models.base import UTCDateTime
from models.db import make_engine


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:  # noqa: ARG001
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from services.config import get_settings

    engine = make_engine(
        context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    )
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
