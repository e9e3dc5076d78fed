"""The repository stands on its own: its documents link only to what it holds, and nothing in it
points at material a maintainer with a fresh clone cannot open."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
INDEX = DOCS / "README.md"
DOCUMENTS = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SHARED = "../" + "shared"
# Things a reader of the repository cannot open: notes that live outside it and the tracker's
# numbering. A comment says the reason itself instead.
OUTSIDE_REFERENCES = {
    SHARED: re.compile(re.escape(SHARED)),
    "design" + ".md": re.compile(r"\bdesign" + r"\.md\b"),
    "api-contract" + ".md": re.compile(r"\bapi-contract" + r"\.md\b"),
    "an issue number": re.compile(r"\b[Ii]ssue" + r" #?\d+"),
    "a review finding": re.compile(r"\breview" + r" [A-Z]\d+\b|\((?:review )?[HML]\d\)"),
    "a bench proposal number": re.compile(r"\bbench" + r" proposal \d+|\bproposal" + r" \d\d\b"),
}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".txt", ".mako", ".json"}
TEXT_NAMES = {"Makefile", "Dockerfile", "run"}


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors, in_code = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            anchors.add(_slug(line.lstrip("#")))
    return anchors


def _links(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    return [
        target
        for target in LINK.findall(text)
        if not target.startswith(("http://", "https://", "mailto:"))
    ]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    broken = []
    for target in _links(document):
        file_part, _, anchor = target.partition("#")
        resolved = (document.parent / file_part).resolve() if file_part else document
        if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
            broken.append(f"{target} (no such file in the repository)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no heading with anchor #{anchor})")
    assert broken == [], f"{document.relative_to(ROOT)} has broken links: {broken}"


def test_the_readme_stays_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 150, (
        f"README.md has {len(lines)} lines; keep it under 150 (what Haven is, the two commands, "
        "where to read on) and put the rest in a page of docs/ listed in docs/README.md"
    )


def test_every_page_in_docs_is_listed_in_the_index() -> None:
    listed = {target.partition("#")[0] for target in _links(INDEX)}
    unlisted = sorted(p.name for p in DOCS.glob("*.md") if p != INDEX and p.name not in listed)
    assert unlisted == [], f"add {unlisted} to the table in docs/README.md"


def _repository_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    files = [ROOT / name for name in names]
    return [f for f in files if f.is_file() and (f.suffix in TEXT_SUFFIXES or f.name in TEXT_NAMES)]


SHIPPED_REVISIONS = {f"migrations/versions/000{n}_" for n in range(1, 7)}
"""Revisions that shipped before this rule: they are never edited, not even a docstring (their
checksums guard them), so the tracker numbers in their first lines stay."""


def test_nothing_points_outside_the_repository() -> None:
    found = []
    for path in _repository_files():
        if any(str(path.relative_to(ROOT)).startswith(prefix) for prefix in SHIPPED_REVISIONS):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for what, pattern in OUTSIDE_REFERENCES.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number} cites {what}: {line.strip()}")
    assert found == [], (
        "Say the reason itself instead of pointing at notes outside the repository or at tracker "
        "numbers a maintainer cannot open:\n" + "\n".join(found)
    )
