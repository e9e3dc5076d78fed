"""Models and migrations agree, on the backend under test, and the chain round-trips."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models.all import metadata
from models.db import make_engine
from services.database import downgrade, migrate
from tests.databases import empty_database


def _schema_drift(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrating_an_empty_database_gives_exactly_the_models_schema() -> None:
    with empty_database() as url:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        assert _schema_drift(url) == []


def test_downgrade_to_base_and_upgrade_again_round_trips() -> None:
    with empty_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            downgrade(engine, "base")
            leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
            assert leftover == set()
            migrate(engine)
            tables = set(inspect(engine).get_table_names())
            assert set(metadata.tables) <= tables
        finally:
            engine.dispose()
        assert _schema_drift(url) == []


def test_each_step_downgrades_cleanly() -> None:
    """Walk the chain one revision at a time, down and up again at every step."""
    from alembic.script import ScriptDirectory

    from services.database import alembic_config

    with empty_database() as url:
        engine = make_engine(url)
        try:
            script = ScriptDirectory.from_config(alembic_config(engine))
            revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
            for revision in revisions:
                migrate(engine, revision)
                downgrade(engine, "-1")
                migrate(engine, revision)
        finally:
            engine.dispose()
