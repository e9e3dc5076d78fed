"""No migration revision changes once it is recorded; every revision is recorded.

A revision that has shipped is never edited: a database already past it never runs it again, so
an edit reaches fresh databases only and the two silently differ. Put a schema change in a new
revision instead. Checksums of the revision files are kept in migrations/checksums.json.
"""

from __future__ import annotations

from migrations.checksums import RECORD, checksum, recorded, revision_files

HOW_TO_ADD = (
    "When you ADD a revision, record its checksum with `make migration-checksums` and commit "
    f"{RECORD.name} together with the revision."
)


def test_every_revision_file_has_a_recorded_checksum() -> None:
    unrecorded = sorted({path.name for path in revision_files()} - set(recorded()))
    assert unrecorded == [], f"No checksum recorded for {unrecorded}. {HOW_TO_ADD}"


def test_no_recorded_revision_file_has_changed() -> None:
    files = {path.name: path for path in revision_files()}
    changed = sorted(
        name
        for name, expected in recorded().items()
        if name in files and checksum(files[name]) != expected
    )
    assert changed == [], (
        f"Revision file(s) {changed} changed after their checksum was recorded. A revision that "
        "has shipped must never be edited: databases already past it never run it again. Undo "
        "the edit and put the change in a NEW revision (down_revision = the current head). Only "
        "if this revision is your own and has not landed on main yet, re-record it with "
        "`python -m migrations.checksums --refresh <file>`."
    )


def test_every_recorded_checksum_has_its_revision_file() -> None:
    missing = sorted(set(recorded()) - {path.name for path in revision_files()})
    assert missing == [], (
        f"{RECORD.name} records {missing}, which no longer exist. A shipped revision is never "
        "removed; if you renumbered your own unlanded revision during a rebase, run "
        "`make migration-checksums` (it drops entries whose file is gone and records the new name)."
    )
