"""One rule for every name shown to other people: agencies, API clients, usernames.

A name is printed in lists, audit views and other agencies' screens. Control characters (C0,
DEL, C1) break those lines or hide in them; the Unicode direction controls (the embeddings and
overrides U+202A-U+202E, the isolates U+2066-U+2069, the marks U+200E/U+200F) and the line and
paragraph separators (U+2028/U+2029) can make a name display as something else (an override
makes the text after it read backwards) or spill over lines. Arabic and Kurdish names need none
of them: their direction comes from the letters themselves.

Use it as `name: DisplayName = Field(min_length=1, max_length=..., description=...)`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

REFUSED_RANGES = (
    (0x00, 0x1F),  # C0 controls
    (0x7F, 0x9F),  # DEL, C1 controls
    (0x200E, 0x200F),  # left-to-right and right-to-left marks
    (0x2028, 0x202E),  # line and paragraph separators, direction embeddings and overrides
    (0x2066, 0x2069),  # direction isolates
)
_REFUSED = frozenset(chr(code) for low, high in REFUSED_RANGES for code in range(low, high + 1))
NAME_PATTERN = (
    "^[^" + "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in REFUSED_RANGES) + "]+$"
)
"""The same rule for the OpenAPI document, so clients (and fuzzers) can see it."""


def check_display_name(value: str) -> str:
    for character in value:
        if character in _REFUSED:
            raise ValueError(
                "must not contain control or text-direction characters "
                f"(found U+{ord(character):04X})"
            )
    return value


DisplayName = Annotated[
    str,
    Field(json_schema_extra={"pattern": NAME_PATTERN}),
    AfterValidator(check_display_name),
]
