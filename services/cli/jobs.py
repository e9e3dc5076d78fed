"""`haven jobs ...`: run the periodic work (the compose `worker`), show each job's last run."""

from __future__ import annotations

import signal
import threading
from datetime import datetime, timedelta
from types import FrameType

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "never"


@app.command()
def run(
    once: bool = typer.Option(
        False, "--once", help="Run every job one time now (due or not), then exit."
    ),
    tick: int = typer.Option(
        30, min=1, max=3600, help="Seconds between looks at which jobs are due."
    ),
) -> None:
    """Run the periodic jobs: audit checkpoints, purges, overdue sweeps.

    Without --once it runs until stopped (SIGTERM or Ctrl-C), each job when its period has
    passed; several workers may run at once (each period's run is claimed by one of them).
    Exit 1 with --once when a job failed.
    """
    from services.cli import load_runtime, load_settings
    from services.cli.preflight import preflight
    from services.jobs import JOBS, run_due, run_each_once
    from services.logs import configure_logging

    settings = load_settings()
    preflight(settings)
    if not once:  # --once prints each result itself; the long-running worker logs them
        configure_logging(settings.log_level)
    runtime = load_runtime()
    try:
        if once:
            results = run_each_once(runtime)
            for result in results:
                typer.echo(f"{result.name}: {result.outcome}: {result.summary}")
            if any(result.outcome == "failed" for result in results):
                raise typer.Exit(1)
            return
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        typer.echo(f"haven jobs: {len(JOBS)} job(s), looking every {tick} s (stop: SIGTERM)")
        while not stop.is_set():
            run_due(runtime)
            stop.wait(tick)
        typer.echo("haven jobs: stopped")
    finally:
        runtime.engine.dispose()


@app.command()
def status(
    check: bool = typer.Option(
        False,
        "--check",
        help="Exit 1 unless every job succeeded within twice its period (a health check).",
    ),
) -> None:
    """Show each job's period, last run, outcome and summary."""
    from models.base import utcnow
    from services.cli import load_runtime
    from services.jobs import job_status

    runtime = load_runtime()
    try:
        rows = job_status(runtime)
    finally:
        runtime.engine.dispose()
    now = utcnow()
    late = []
    for row in rows:
        typer.echo(
            f"{row.name}: every {row.every_seconds} s; last run {_when(row.last_started_at)} "
            f"({row.last_outcome or 'never run'}: {row.last_summary or '-'}); "
            f"last success {_when(row.last_ok_at)}; {row.runs} run(s), {row.failures} failed"
        )
        limit = timedelta(seconds=2 * row.every_seconds)
        if row.last_ok_at is None or now - row.last_ok_at > limit:
            late.append(row.name)
    if check and late:
        typer.echo(f"late: {', '.join(late)}", err=True)
        raise typer.Exit(1)
