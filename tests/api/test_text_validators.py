"""The free-text validators find control characters with a character class instead of asking
`unicodedata` about every character: the class must be exactly Unicode's Cc category (less tab,
line feed and carriage return for prose), over every code point."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from api.schemas.cases import CONTROL, CONTROL_BUT_LINE_BREAKS, _not_blank, _prose


def test_the_classes_are_exactly_the_control_category() -> None:
    controls = {
        chr(point)
        for point in range(sys.maxunicode + 1)
        if unicodedata.category(chr(point)) == "Cc"
    }
    assert {chr(point) for point in range(0x100) if CONTROL.match(chr(point))} == controls
    assert {chr(point) for point in range(0x100) if CONTROL_BUT_LINE_BREAKS.match(chr(point))} == (
        controls - set("\t\n\r")
    )
    # Nothing beyond Latin-1 is a control character, and the classes match nothing there.
    assert max(ord(char) for char in controls) < 0x100
    beyond = "".join(chr(point) for point in range(0x100, 0xD800))
    assert CONTROL.search(beyond) is None


@pytest.mark.parametrize("text", ["line one\nline two\r\n\tindented", "عربي ١٢٣", "x" * 20_000])
def test_prose_keeps_line_breaks_and_any_script(text: str) -> None:
    assert _prose(text) == text


@pytest.mark.parametrize("bad", ["a\x00b", "escape \x1b[31m", "del\x7f", "c1 \x85", "bell\x07"])
def test_prose_and_one_line_texts_refuse_other_controls(bad: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        _prose(bad)
    with pytest.raises(ValueError, match="control characters"):
        _not_blank(bad)


@pytest.mark.parametrize("bad", ["two\nlines", "tab\there", "cr\rhere"])
def test_a_one_line_text_refuses_line_breaks(bad: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        _not_blank(bad)
