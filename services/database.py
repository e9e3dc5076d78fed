"""Schema management: alembic driven from code, so `haven migrate` works from any directory."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from models.db import READ_ONLY_OPTION, make_engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(str(resources.files("migrations")))))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def is_migrated(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names()


def head_revision(engine: Engine) -> str | None:
    """The newest revision this version of Haven ships."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no Haven schema)."""
    with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_problem(raw_url: str) -> str | None:
    """Why the database at `raw_url` cannot be used by this version of Haven, or None.

    One line that names the fix. Creates nothing: a SQLite file that does not exist is
    reported, not created. Used by every command but `migrate`, and by `haven serve`'s
    pre-flight, so a server never starts on a database it would answer 500 from.
    """
    url = make_url(raw_url)
    shown = url.render_as_string(hide_password=True)
    if url.drivername.startswith("sqlite"):
        if not url.database or url.database == ":memory:":
            return f"No database file in {shown}: set HAVEN_DATABASE_URL."
        if not Path(url.database).expanduser().exists():
            return (
                f"No Haven database at {shown} (the file does not exist): set "
                "HAVEN_DATABASE_URL, or run `haven migrate` to create it."
            )
    engine = make_engine(raw_url)
    try:
        current = current_revision(engine)
        head = head_revision(engine)
    except (OperationalError, InterfaceError) as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0:1]
        why = f" ({reason[0]})" if reason else ""
        return (
            f"Cannot connect to the database at {shown}{why}: is it running, and is "
            "HAVEN_DATABASE_URL right?"
        )
    finally:
        engine.dispose()
    if current is None:
        return f"The database at {shown} has no Haven schema: run `haven migrate`."
    if current != head:
        script = ScriptDirectory.from_config(alembic_config(engine))
        if current not in {revision.revision for revision in script.walk_revisions()}:
            return (
                f"The database at {shown} is at revision {current}, which this version of "
                f"Haven does not know (it expects {head}): run the Haven that migrated it."
            )
        return (
            f"The database at {shown} is at revision {current}, this version of Haven needs "
            f"{head}: run `haven migrate`."
        )
    return None
