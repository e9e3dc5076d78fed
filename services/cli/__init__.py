"""The `haven` command.

It lives beside the use cases it drives; it starts the HTTP app by import string
(`api.app:create_app`), so the import direction stays api → services → models.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from services.cli import audit as audit_commands
from services.cli import backup as backup_commands
from services.cli import jobs as job_commands
from services.cli import keys as key_commands
from services.config import Settings, format_settings_error
from services.runtime import Runtime, build_runtime

SETTINGS_HELP = """Where things are: HAVEN_DATABASE_URL names the database (default: the SQLite file
./var/haven.db), HAVEN_KEY_FILE the keyring (default ./var/keyring.json, created 0600 by
`haven migrate`), HAVEN_AUDIT_CHECKPOINT_FILE the signed audit checkpoints (default
./var/audit-checkpoints.jsonl). Relative paths are relative to the current directory. Every
setting is a HAVEN_* environment variable; docs/operating.md lists them all."""

app = typer.Typer(
    name="haven",
    help="Haven: case management for child-protection teams.",
    epilog=SETTINGS_HELP,
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: flags without a `<bool>` placeholder, and docstrings re-wrapped to the
    # terminal instead of keeping their source line breaks.
    rich_markup_mode=None,
)
app.add_typer(audit_commands.app, name="audit", help="Verify and checkpoint the audit log.")
app.add_typer(key_commands.app, name="keys", help="Key-encryption keys: status, rotate, retire.")
app.add_typer(
    job_commands.app, name="jobs", help="Periodic work: checkpoints, purges, sweeps; status."
)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        typer.echo(format_settings_error(error), err=True)
        raise typer.Exit(2) from None


def load_runtime(*, require_schema: bool = True) -> Runtime:
    """Settings, engine and keyring for one command. Every command but `migrate` first checks
    that the database holds Haven's schema, so a mistyped HAVEN_DATABASE_URL or a command run
    from the wrong folder never creates an empty database and a fresh keyring beside it."""
    from services.crypto import KeyringError
    from services.database import connection_problem, schema_problem

    settings = load_settings()
    problem = connection_problem(settings.database_url)
    if problem is not None:  # a refused connection is not a missing schema: say which it is
        typer.echo(problem, err=True)
        raise typer.Exit(1)
    if require_schema:
        problem = schema_problem(settings.database_url)
        if problem is not None:
            typer.echo(problem, err=True)
            raise typer.Exit(1)
    try:
        return build_runtime(settings)
    except KeyringError as error:
        typer.echo(f"keyring refused: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def migrate() -> None:
    """Bring the database to the newest schema; on a database holding no data keys, create the
    keyring when there is none yet."""
    from services.crypto import KeyringError
    from services.crypto.setup import KeyringSetupRefused, prepare_keyring
    from services.database import migrate as run_migrations

    settings = load_settings()
    try:
        with prepare_keyring(settings) as engine:
            run_migrations(engine)
    except KeyringSetupRefused as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyringError as error:
        typer.echo(f"keyring refused: {error}", err=True)
        raise typer.Exit(1) from None
    load_runtime().engine.dispose()  # the keyring is proven against the migrated database
    typer.echo("migrated: the database is at the newest schema")


@app.command()
def bootstrap(
    username: str = typer.Option(..., help="Username of the first system administrator."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    generate_password: bool = typer.Option(
        False, "--generate-password", help="Generate a password and print it once."
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing (exit 0) when users already exist."
    ),
) -> None:
    """On an empty database, create the "System" agency and a system_admin."""
    import secrets

    from services.errors import Conflict, InvalidInput
    from services.identity.bootstrap import bootstrap as run_bootstrap
    from services.identity.bootstrap import has_users

    if password_stdin == generate_password:
        typer.echo("Give exactly one of --password-stdin or --generate-password.", err=True)
        raise typer.Exit(2)
    runtime = load_runtime()
    if if_empty:
        with runtime.session_factory() as session:
            if has_users(session):
                typer.echo(
                    "users exist already; bootstrap skipped "
                    "(lost the admin password? `haven reset-password --username admin "
                    "--generate-password`)"
                )
                return
    if generate_password:
        password = secrets.token_urlsafe(18)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with runtime.session_factory() as session, session.begin():
            user = run_bootstrap(session, username=username, password=password)
            user_id = user.id
    except Conflict as error:
        typer.echo(f"refused: {error.detail}", err=True)
        raise typer.Exit(1) from None
    except InvalidInput as error:
        typer.echo(f"refused: {error.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created system_admin {username!r} ({user_id}) in agency 'System'")
    if generate_password:
        typer.echo("")
        typer.echo(f"  username: {username}")
        typer.echo(f"  password: {password}")
        typer.echo("  (shown once: store it in your password manager now)")
        typer.echo("")


@app.command("reset-password")
def reset_password(
    username: str = typer.Option(..., help="The user whose password is lost."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the temporary password from standard input."
    ),
    generate_password: bool = typer.Option(
        False, "--generate-password", help="Generate a temporary password and print it once."
    ),
    reactivate: bool = typer.Option(
        False, "--reactivate", help="Also reactivate the account if it was deactivated."
    ),
) -> None:
    """Break glass: a temporary password for a user who lost theirs.

    For the only system_admin, say. The password must be changed at the next login; all the
    user's tokens die; the reset is audited. A deactivated account is refused unless
    --reactivate is given."""
    import secrets

    from services.errors import Conflict, InvalidInput, NotFound
    from services.identity.recovery import operator_reset_password

    if password_stdin == generate_password:
        typer.echo("Give exactly one of --password-stdin or --generate-password.", err=True)
        raise typer.Exit(2)
    runtime = load_runtime()
    password = (
        secrets.token_urlsafe(18) if generate_password else sys.stdin.readline().rstrip("\r\n")
    )
    try:
        with runtime.session_factory() as session, session.begin():
            operator_reset_password(
                session, username=username, password=password, reactivate=reactivate
            )
    except (NotFound, Conflict) as error:
        typer.echo(f"refused: {error.detail}", err=True)
        raise typer.Exit(1) from None
    except InvalidInput as error:
        typer.echo(f"refused: {error.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"temporary password set for {username!r}; it must be changed at the next login")
    if generate_password:
        typer.echo(f"  password: {password}")
        typer.echo("  (shown once)")


def preflight_serve(settings: Settings) -> None:
    """Everything that would make every worker refuse, checked once before any worker starts
    (a supervisor restarts a worker that exits, in a loop): the database's schema, and a keyring
    that exists, is safe and is proven against the database. When the database cannot be reached
    the server starts anyway and its keyring refuses key use (503) until it has been proven."""
    from services.crypto import KeyringError, KeyringNotProven
    from services.database import schema_problem

    problem = schema_problem(settings.database_url)
    if problem is not None and not problem.startswith("Cannot connect"):
        typer.echo(f"{problem} Run `haven migrate` first.", err=True)
        raise typer.Exit(1)
    try:
        build_runtime(settings).engine.dispose()
    except KeyringNotProven as error:
        typer.echo(f"warning: {error}", err=True)
    except KeyringError as error:
        typer.echo(f"keyring refused: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to listen on (HAVEN_HOST)."),
    port: int | None = typer.Option(None, help="Port (HAVEN_PORT)."),
    workers: int | None = typer.Option(None, help="Worker processes (HAVEN_WORKERS)."),
) -> None:
    """Run the API with uvicorn."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from services.cli.preflight import preflight

    settings = load_settings()
    preflight(settings)  # the database answers and is at this version's schema
    preflight_serve(settings)  # the keyring exists, is safe and is proven against it
    config = uvicorn.Config(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        access_log=False,
        # Haven reads X-Forwarded-For itself (rightmost trusted hop), see api/middleware.py.
        proxy_headers=False,
        log_config=None,
    )
    if config.workers <= 1:
        uvicorn.Server(config).run()
        return
    # With several workers uvicorn binds the socket itself as a plain AF_INET socket, for which
    # asyncio leaves Nagle's algorithm on: every keep-alive response would wait ~40 ms for the
    # client's delayed ACK (measured by the benchmark). Linux copies TCP_NODELAY to accepted
    # connections.
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()


app.command("backup")(backup_commands.backup)
app.command("restore")(backup_commands.restore)


def main() -> None:
    app()
