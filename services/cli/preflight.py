"""Pre-flight: what a long-running command checks before it starts anything.

`haven serve` and `haven jobs run` call `preflight(settings)` before a worker process exists, so
a database that is unreachable or not at this version's schema (or anything else a check here
finds) stops the start in one line that names the fix, with a non-zero exit, instead of a server
that answers 500 with a traceback in its log.

Each check is a function of the settings returning None (fine) or that one line. The first
failing check stops the start. Add a check by appending it to `CHECKS`; keep each one cheap (it
runs once per start) and free of side effects (it must create no database and no key file).

An unreachable database is refused rather than waited for: under compose (and systemd) the
supervisor restarts the process, with its own back-off and a visible restart count, while a
retry loop inside Haven would hide a mistyped HAVEN_DATABASE_URL behind a process that looks
alive.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from services.config import Settings

Check = Callable[[Settings], str | None]


def database_ready(settings: Settings) -> str | None:
    """The database answers and is at the newest schema this version ships."""
    from services.database import schema_problem

    return schema_problem(settings.database_url)


CHECKS: list[Check] = [database_ready]
"""Run in this order; the first problem found stops the start."""


def first_problem(settings: Settings, checks: list[Check] | None = None) -> str | None:
    for check in CHECKS if checks is None else checks:
        problem = check(settings)
        if problem is not None:
            return problem
    return None


def preflight(settings: Settings, checks: list[Check] | None = None) -> None:
    """Exit 1 with one line on standard error when a check fails."""
    problem = first_problem(settings, checks)
    if problem is not None:
        typer.echo(f"Haven cannot start: {problem}", err=True)
        raise typer.Exit(1)
