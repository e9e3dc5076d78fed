"""`haven backup DIR` and `haven restore DIR --identity FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def backup(
    directory: Annotated[
        Path, typer.Argument(help="A new (or empty) folder for this backup; created 0700.")
    ],
) -> None:
    """Write a consistent snapshot of the database, the audit checkpoint file, and the keyring
    encrypted (age) to HAVEN_ESCROW_RECIPIENT, with a manifest of checksums, into DIRECTORY.

    Refuses without HAVEN_ESCROW_RECIPIENT. Never writes the keyring in the clear. Safe while
    the server runs (SQLite online backup; pg_dump for PostgreSQL, which needs the client tools
    of the server's major version).
    """
    from services.backup import BackupError, make_backup
    from services.backup.escrow import EscrowError, parse_recipient
    from services.cli import load_runtime, load_settings

    settings = load_settings()
    try:
        parse_recipient(settings.escrow_recipient)  # refuse before touching anything
    except EscrowError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from None
    runtime = load_runtime()
    try:
        result = make_backup(runtime.settings, runtime.engine, runtime.keyring, directory)
    except BackupError as error:
        typer.echo(f"backup failed: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    manifest = result.manifest
    typer.echo(f"backup written to {result.directory}")
    for name, entry in sorted(manifest["files"].items()):
        typer.echo(f"  {name}: {entry['kind']} (sha256 {entry['sha256'][:16]}…)")
    typer.echo(
        f"schema revision {manifest['schema_revision']}; keyring escrowed to "
        f"{manifest['escrow_recipient']}"
    )


def restore(
    directory: Annotated[Path, typer.Argument(help="A folder written by `haven backup`.")],
    identity: Annotated[
        Path,
        typer.Option(
            "--identity", help="The age identity file of the recovery key (AGE-SECRET-KEY-1…)."
        ),
    ],
) -> None:
    """Restore a backup into the configured database, which must be empty, and key file, which
    must not exist; then check that the audit chain verifies, every data key unwraps, and a
    sample of cases decrypts. Exit 0 only if all of that holds.

    On PostgreSQL the restored tables belong to HAVEN_DATABASE_URL's user and carry no grants:
    grant the application role its rights again, as after `haven migrate`.
    """
    from services.backup import RestoreError, check_restored, restore_backup
    from services.cli import load_runtime, load_settings

    settings = load_settings()
    try:
        manifest = restore_backup(settings, directory, identity)
    except RestoreError as error:
        typer.echo(f"restore refused: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored the {manifest['backend']} backup of {manifest['created_at']}")
    runtime = load_runtime()
    try:
        report = check_restored(runtime.settings, runtime.engine, runtime.keyring)
    finally:
        runtime.engine.dispose()
    chain = "verifies" if report.chain_valid else f"INVALID ({report.chain_problem})"
    typer.echo(
        f"audit chain {chain}: {report.events_checked} events, "
        f"{report.checkpoints_checked} checkpoints"
    )
    typer.echo(
        f"data keys unwrapped: {report.data_keys - report.data_keys_failed}/{report.data_keys}"
    )
    typer.echo(
        f"cases decrypted: {report.cases_sampled - report.cases_failed}/{report.cases_sampled}"
    )
    for problem in report.problems:
        typer.echo(f"problem: {problem}")
    if not report.ok:
        typer.echo("restore check FAILED: do not put this restore into service", err=True)
        raise typer.Exit(1)
    typer.echo("restore check passed")
