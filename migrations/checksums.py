"""Checksums of the shipped migration revisions, kept in `migrations/checksums.json`.

A revision that has shipped must never change: a database already past it never runs it again,
so an edit reaches fresh databases only and the two drift apart. `tests/migrations/
test_checksums.py` compares every revision file with its recorded SHA-256.

    python -m migrations.checksums            # record revisions that have no checksum yet
    python -m migrations.checksums --refresh 0008_example.py   # your own, not yet on main

`make migration-checksums` runs the first form. It never rewrites a recorded checksum (that is
what `--refresh` is for, and only for a revision that has not landed yet), and it drops entries
whose file no longer exists (a revision renumbered during a rebase).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent
VERSIONS = MIGRATIONS / "versions"
RECORD = MIGRATIONS / "checksums.json"


def revision_files() -> list[Path]:
    return sorted(path for path in VERSIONS.glob("*.py") if path.name != "__init__.py")


def checksum(path: Path) -> str:
    # Line endings are normalised so a checkout with CRLF line endings hashes the same.
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def recorded() -> dict[str, str]:
    if not RECORD.exists():
        return {}
    data: dict[str, str] = json.loads(RECORD.read_text(encoding="utf-8"))
    return data


def write(record: dict[str, str]) -> None:
    # One entry per line, sorted: two branches that each add a revision conflict on adjacent
    # lines at worst, and keeping both lines resolves it.
    RECORD.write_text(json.dumps(dict(sorted(record.items())), indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrations.checksums", description=__doc__)
    parser.add_argument(
        "--refresh",
        action="append",
        default=[],
        metavar="FILE",
        help="re-record this revision file (only one of yours that has not landed on main)",
    )
    args = parser.parse_args(argv)
    record = recorded()
    files = {path.name: path for path in revision_files()}
    for name in sorted(set(record) - set(files)):
        print(f"dropped {name} (the file no longer exists)")
        del record[name]
    for name in args.refresh:
        if name not in files:
            print(f"no revision file {name} in {VERSIONS}", file=sys.stderr)
            return 1
        record[name] = checksum(files[name])
        print(f"re-recorded {name}")
    for name, path in files.items():
        if name not in record:
            record[name] = checksum(path)
            print(f"recorded {name}")
    write(record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
