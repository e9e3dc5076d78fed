"""`haven audit ...`: verify the chain, sign its head now."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

PROGRESS_FROM = 20_000
"""Show a progress bar (on a terminal) for logs at least this long."""


@app.command()
def verify(
    batch_size: int = typer.Option(5000, min=100, max=100_000, help="Events read per query."),
) -> None:
    """Recompute the hash chain and check it against the signed checkpoints.

    Exit 0 and print the count when the chain is intact; exit 1 and print
    `first_invalid_seq: N` when not. Checkpoint-file lines that are not readable checkpoints
    (torn writes) are listed as `malformed_checkpoint_lines` either way.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from models.db import READ_ONLY_OPTION
    from services.audit.verify import chain_length, verify_log
    from services.cli import load_runtime

    runtime = load_runtime()
    console = Console(stderr=True)
    try:
        with runtime.engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
            total = chain_length(connection)
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                disable=total < PROGRESS_FROM,
            ) as progress:
                task = progress.add_task("verifying", total=total)
                report = verify_log(
                    connection,
                    runtime.settings,
                    runtime.keyring,
                    batch_size=batch_size,
                    progress=lambda done: progress.update(task, completed=done),
                )
    finally:
        runtime.engine.dispose()
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    # Malformed checkpoint lines are reported on their own: they say nothing about the chain.
    malformed = ", ".join(map(str, report.malformed_checkpoint_lines))
    if report.valid:
        typer.echo(f"audit chain valid: {report.events_checked} events checked")
        typer.echo(f"events_checked: {report.events_checked}")
        typer.echo(f"checkpoints_checked: {report.checkpoints_checked}")
        if malformed:
            typer.echo(f"malformed_checkpoint_lines: {malformed}")
        return
    typer.echo("audit chain INVALID")
    typer.echo(f"first_invalid_seq: {report.first_invalid_seq}")
    typer.echo(f"reason: {report.reason}")
    typer.echo(f"events_checked: {report.events_checked}")
    if malformed:
        typer.echo(f"malformed_checkpoint_lines: {malformed}")
    raise typer.Exit(1)


@app.command()
def checkpoint() -> None:
    """Sign the current head of the chain into the checkpoint file (and URL) now."""
    from services.audit.checkpoints import Checkpointer
    from services.cli import load_runtime

    runtime = load_runtime()
    try:
        with runtime.session_factory() as session:
            written = Checkpointer(runtime.settings, runtime.keyring).checkpoint_head(session)
    finally:
        runtime.engine.dispose()
    if written is None:
        typer.echo("the audit log is empty: nothing to sign")
        return
    typer.echo(
        f"checkpoint: seq {written.seq} hash {written.hash} "
        f"key {written.key_id} -> {runtime.settings.audit_checkpoint_file}"
    )
