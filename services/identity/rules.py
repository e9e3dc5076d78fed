"""Rules for usernames and new passwords (long, no composition rules, not common)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources
from itertools import pairwise

from services.errors import InvalidInput

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128


def normalise_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().casefold()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("services.identity").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",  # keyboard rows, left to right, top to bottom
    "1234567890qwertyuiop",
    "qazwsxedcrfvtgbyhnujmikolp",  # keyboard columns
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",
)
"""Runs along these (either way, wrapping around) are refused: `123456789012`, `qwertyuiopas`."""

MIN_DISTINCT_CHARACTERS = 4
TRIVIAL_UNIT_LENGTH = 3


def _is_filler(ch: str) -> bool:
    """Digits, punctuation, symbols and spaces: what people pad a word with (`Password1!`)."""
    return ch.isdigit() or unicodedata.category(ch)[0] in "PSZ"


def strip_padding(value: str) -> str:
    start, end = 0, len(value)
    while start < end and _is_filler(value[start]):
        start += 1
    while end > start and _is_filler(value[end - 1]):
        end -= 1
    return value[start:end]


def repeated_unit(value: str) -> str | None:
    """The shortest unit `value` is two or more copies of (`abcabc` → `abc`), else None."""
    length = len(value)
    for size in range(1, length // 2 + 1):
        if length % size == 0 and value[:size] * (length // size) == value:
            return value[:size]
    return None


def is_sequence(value: str) -> bool:
    """True when every next character follows the last one along one of `SEQUENCES`."""
    if len(value) < 2:
        return False
    for sequence in SEQUENCES:
        for order in (sequence, sequence[::-1]):
            positions = [order.find(ch) for ch in value]
            if -1 in positions:
                continue
            size = len(order)
            if all((b - a) % size == 1 for a, b in pairwise(positions)):
                return True
    return False


def weakness(password: str) -> str | None:
    """Why the password is easy to guess despite its length, or None.

    Checked on the password lower-cased (and NFKC-normalised), and on that with leading and
    trailing digits, punctuation and spaces stripped: common (`Password1234!`), a repetition
    of a common or a short unit (`passwordpassword`, `abcabcabcabc`), three or fewer distinct
    characters (`aaaaaaaaaaaa`), or a run along the digits, the alphabet or the keyboard
    (`123456789012`, `qwertyuiopas`)."""
    lowered = unicodedata.normalize("NFKC", password).casefold()
    common = common_passwords()
    compact = "".join(ch for ch in lowered if not ch.isspace())
    if len(set(compact)) < MIN_DISTINCT_CHARACTERS:
        return "uses too few different characters"
    if is_sequence(compact):
        return "is a run of consecutive characters (digits, letters or keys)"
    candidates = {lowered, compact, strip_padding(lowered), strip_padding(compact)}
    for candidate in sorted(candidates):
        if not candidate:
            continue
        if candidate in common:
            return "is too common; choose a less guessable passphrase"
        unit = repeated_unit(candidate)
        if unit is not None and (
            len(unit) <= TRIVIAL_UNIT_LENGTH
            or unit in common
            or strip_padding(unit) in common
            or is_sequence(unit)
        ):
            return "repeats a common or short word; choose a less guessable passphrase"
    return None


def check_new_password(
    password: str, *, field: str = "password", loc: tuple[str | int, ...] | None = None
) -> None:
    """Length 12..128 and not easy to guess (`weakness`); no composition rules."""
    where = loc or (field,)
    length = len(password)
    if length < PASSWORD_MIN_LENGTH:
        raise InvalidInput.field(where, f"must be at least {PASSWORD_MIN_LENGTH} characters")
    if length > PASSWORD_MAX_LENGTH:
        raise InvalidInput.field(where, f"must be at most {PASSWORD_MAX_LENGTH} characters")
    problem = weakness(password)
    if problem is not None:
        raise InvalidInput.field(where, problem)
