"""Rules for usernames and new passwords (design.md: length, no composition rules, not common)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

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


def check_new_password(
    password: str, *, field: str = "password", loc: tuple[str | int, ...] | None = None
) -> None:
    """Length 12..128 and not among the 10,000 most common passwords; no composition rules."""
    where = loc or (field,)
    length = len(password)
    if length < PASSWORD_MIN_LENGTH:
        raise InvalidInput.field(where, f"must be at least {PASSWORD_MIN_LENGTH} characters")
    if length > PASSWORD_MAX_LENGTH:
        raise InvalidInput.field(where, f"must be at most {PASSWORD_MAX_LENGTH} characters")
    if password.casefold() in common_passwords():
        raise InvalidInput.field(where, "is too common; choose a less guessable passphrase")
