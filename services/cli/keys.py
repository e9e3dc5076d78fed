"""`haven keys ...`: rotate key-encryption keys, show their status.

The logic lives in `services.keys.rotation`; these commands only call it and print.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from services.crypto import KeyringError
from services.keys.rotation import (
    DEFAULT_BATCH_SIZE,
    RotationPlan,
    key_status,
    retire_old_versions,
)
from services.keys.rotation import rotate as run_rotation
from services.runtime import Runtime

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def _runtime() -> Runtime:
    from services.cli import load_runtime  # here, not at import: services.cli imports this module

    return load_runtime()  # a refused keyring exits 1 with its message


@app.command()
def rotate(
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, min=1, max=10_000, help="Data keys re-wrapped per transaction."
    ),
) -> None:
    """Add a KEK version and re-wrap every data key under it (or resume an unfinished rotation).

    Safe while the server runs; safe to interrupt: run it again to resume.
    """
    runtime = _runtime()
    try:
        with Progress(
            TextColumn("re-wrapping"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        ) as progress:
            task = progress.add_task("rewrap", total=None)

            def planned(plan: RotationPlan) -> None:
                if plan.added_version:
                    typer.echo(f"added KEK version {plan.kek_version}")
                else:
                    typer.echo(f"resuming the rotation to KEK version {plan.kek_version}")
                typer.echo(f"{plan.pending} data key(s) to re-wrap")
                progress.update(task, total=plan.pending)

            result = run_rotation(
                runtime.session_factory,
                runtime.keyring,
                batch_size=batch_size,
                on_plan=planned,
                on_batch=lambda n: progress.advance(task, n),
            )
        info = key_status(runtime.session_factory, runtime.keyring)
    except KeyringError as error:
        typer.echo(f"rotation stopped: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    typer.echo(
        f"re-wrapped {result.rewrapped} data key(s) in {result.batches} batch(es); "
        f"current KEK version {info.current_kek_version}"
    )
    if info.pending:
        typer.echo(
            f"{info.pending} data key(s) were created under an older version during the run; "
            "run `haven keys rotate` again to finish",
            err=True,
        )
        raise typer.Exit(3)


@app.command()
def status() -> None:
    """Show the KEK versions and how many data keys each one wraps."""
    runtime = _runtime()
    try:
        info = key_status(runtime.session_factory, runtime.keyring)
    finally:
        runtime.engine.dispose()
    settings = runtime.settings
    if settings.keyring == "pkcs11":
        typer.echo(f"keyring: PKCS#11 token {settings.pkcs11_token!r} ({settings.pkcs11_module})")
        if settings.key_file.expanduser().exists():
            typer.echo(f"  with the key file {settings.key_file} (a move to the token)")
    else:
        typer.echo(f"keyring: {settings.key_file}")
    typer.echo(f"current KEK version: {info.current_kek_version}")
    typer.echo("version  data keys")
    for version in sorted(set(info.kek_versions) | set(info.live_by_version)):
        marks = []
        if version == info.current_kek_version:
            marks.append("current")
        if version in info.retired_versions and info.live_by_version.get(version):
            marks.append("RETIRED: these keys are unreadable")
        elif version not in info.kek_versions:
            marks.append("MISSING FROM KEYRING")
        suffix = f"  ({', '.join(marks)})" if marks else ""
        typer.echo(f"{version:>7}  {info.live_by_version.get(version, 0):>9}{suffix}")
    typer.echo(f"destroyed data keys (erased cases): {info.destroyed}")
    if info.retired_versions:
        typer.echo(f"retired KEK versions: {', '.join(map(str, info.retired_versions))}")
    if info.pending:
        typer.echo(
            f"rotation unfinished: {info.pending} data key(s) under older versions; "
            "run `haven keys rotate` to finish"
        )
    if info.unknown_versions:
        raise typer.Exit(1)


@app.command()
def retire(
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Destroy every KEK version older than the current one (after a finished rotation).

    Afterwards, database backups taken before the rotation can no longer be decrypted with this
    keyring; that includes the wrapped keys of cases erased since those backups. Keyring
    backups that still hold the old versions must be destroyed too (see docs/security.md).
    """
    runtime = _runtime()
    try:
        info = key_status(runtime.session_factory, runtime.keyring)
        old = [v for v in info.kek_versions if v < info.current_kek_version]
        if not old:
            typer.echo("nothing to retire: the keyring holds only the current KEK version")
            return
        if not yes:
            typer.confirm(
                f"Destroy KEK version(s) {', '.join(map(str, old))} for good?", abort=True
            )
        retired = retire_old_versions(runtime.session_factory, runtime.keyring)
    except KeyringError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    typer.echo(f"retired KEK version(s): {', '.join(map(str, retired)) or 'none'}")
    typer.echo(
        "Now replace your keyring backups with a copy of the current key file and destroy the "
        "older ones: they still hold the retired versions."
    )


@app.command("migrate-to-pkcs11")
def migrate_to_pkcs11(
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, min=1, max=10_000, help="Data keys re-wrapped per transaction."
    ),
) -> None:
    """Move every data key from the key file to the PKCS#11 token, then retire the file's KEKs.

    Run with HAVEN_KEYRING=pkcs11 and the token's settings, HAVEN_KEY_FILE still naming the key
    file. Safe while servers run with the same settings; safe to interrupt: run it again.
    """
    from services.keys.handover import HandoverPlan
    from services.keys.handover import migrate_to_pkcs11 as run_handover

    runtime = _runtime()
    try:
        with Progress(
            TextColumn("re-wrapping"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        ) as progress:
            task = progress.add_task("rewrap", total=None)

            def planned(plan: HandoverPlan) -> None:
                if plan.prepared:
                    typer.echo(f"token prepared: KEK version {plan.token_version} generated in it")
                else:
                    typer.echo(f"resuming the move to the token's KEK version {plan.token_version}")
                typer.echo(f"{plan.pending} data key(s) to re-wrap under the token")
                progress.update(task, total=plan.pending)

            result = run_handover(
                runtime.session_factory,
                runtime.keyring,
                batch_size=batch_size,
                on_plan=planned,
                on_batch=lambda n: progress.advance(task, n),
            )
        info = key_status(runtime.session_factory, runtime.keyring)
    except KeyringError as error:
        typer.echo(f"move stopped: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    typer.echo(f"re-wrapped {result.rewrapped} data key(s) in {result.batches} batch(es)")
    typer.echo(f"retired KEK version(s): {', '.join(map(str, result.retired)) or 'none'}")
    if info.pending or info.unknown_versions:
        typer.echo("some data keys are still under older versions: run the command again", err=True)
        raise typer.Exit(3)
    typer.echo(
        f"every data key is wrapped by the token (KEK version {info.current_kek_version}). "
        "Remove HAVEN_KEY_FILE from the settings, restart Haven, and destroy the key file and its "
        "backups once you no longer need to read database backups taken before this move."
    )
