"""`haven --help` and every command's help read well: flags without placeholders, the `keys`
group lists all its commands, and the top help says where the database and keyring come from."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from services.cli import app

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(command: Any, prefix: list[str]) -> None:
        # Duck-typed: typer may ship its own copy of click, whose Group is not click.Group.
        commands: dict[str, Any] = getattr(command, "commands", None) or {}
        if commands:
            for name, sub in commands.items():
                paths.append([*prefix, name])
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "haven")
def test_help_shows_flags_without_placeholders(path: list[str]) -> None:
    shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output
    assert "Show this message and exit." in shown.output


def test_the_top_help_says_where_the_database_and_keyring_come_from() -> None:
    shown = runner.invoke(app, ["--help"], env={"COLUMNS": "100"}).output
    flat = " ".join(shown.split())
    for needle in ("HAVEN_DATABASE_URL", "HAVEN_KEY_FILE", "./var/haven.db", "./var/keyring.json"):
        assert needle in flat


def test_the_keys_group_lists_every_keys_command() -> None:
    shown = runner.invoke(app, ["keys", "--help"], env={"COLUMNS": "100"}).output
    summary = next(
        line for line in runner.invoke(app, ["--help"]).output.splitlines() if "keys" in line
    )
    for command in ("status", "rotate", "retire"):
        assert command in shown
        assert command in summary


def test_command_summaries_are_whole_sentences() -> None:
    """Click cuts a summary at its first full stop: no summary may be cut inside brackets
    ("(e.g.") or mid-line because the docstring's source lines were kept."""
    shown = runner.invoke(app, ["--help"], env={"COLUMNS": "100"}).output
    commands = shown.split("Commands:")[1].split("\n\n")[0]
    for line in commands.splitlines():
        if line.strip():
            assert line.count("(") == line.count(")"), line


def test_help_paragraphs_are_rewrapped_to_the_terminal() -> None:
    shown = runner.invoke(app, ["reset-password", "--help"], env={"COLUMNS": "100"}).output
    flat = " ".join(shown.split())
    assert "The password must be changed at the next login; all the user's tokens die" in flat
    body = shown.split("Options:")[0]
    assert all(len(line) <= 80 for line in body.splitlines())
