# ruff: noqa: RUF002, RUF003  (the Arabic-script letters in this file are intentional)
"""Search normalisation for blind indexes (docs/security.md, "Search without plaintext").

One canonical form, so that every way a caseworker might type the same name gives the same
blind-index token. In order:

1. Unicode NFKC (folds Arabic presentation forms, full-width Latin, ligatures) and case-folding
   (`Straße` → `strasse`), NFKC again after folding.
2. Remove invisible format characters (zero-width joiner/non-joiner, bidi marks, BOM, the
   Arabic letter mark) and all combining marks of the Arabic block: harakat (fatha, damma,
   kasra, tanwin, shadda, sukun U+064B–U+065F, incl. combining hamza/madda U+0653–U+0655), the
   superscript alef U+0670 and Quranic marks (U+0610–U+061A, U+06D6–U+06ED); remove tatweel
   U+0640.
3. Unify letters to the Arabic-keyboard form:
   alef with hamza/madda/wasla أ إ آ ٱ ٲ ٳ → ا; waw with hamza ؤ → و; ya with hamza ئ → ي;
   alef maqsura ى, Persian/Kurdish yeh ی → ي; ta marbuta ة, Kurdish ae ە, heh doachashmee ھ,
   heh with yeh ۀ, heh goal ہ → ه; keheh ک and swash kaf ڪ → ك.
   Distinct Kurdish letters (ڵ ڕ ۆ ێ ڤ گ چ پ ژ) are kept: they are different sounds.
4. Digits of every script (Arabic-Indic ٠–٩, Persian ۰–۹, ...) → ASCII 0–9, so phone numbers and
   dates match however they were typed.
5. Whitespace of every kind collapsed to one ASCII space; leading/trailing space removed.

Latin accents are kept (`José` ≠ `Jose`): the design does not fold them, and they distinguish
names. The function is idempotent: `normalise(normalise(x)) == normalise(x)`.
"""

from __future__ import annotations

import unicodedata

_ARABIC_MARKS = (
    {*range(0x0610, 0x061B)}
    | {*range(0x064B, 0x0660)}
    | {0x0670}
    | {*range(0x06D6, 0x06DD)}
    | {*range(0x06DF, 0x06E9)}
    | {*range(0x06EA, 0x06EE)}
)
_TATWEEL = 0x0640

_LETTERS = {
    # alef forms
    "\u0623": "\u0627",  # أ
    "\u0625": "\u0627",  # إ
    "\u0622": "\u0627",  # آ
    "\u0671": "\u0627",  # ٱ
    "\u0672": "\u0627",  # ٲ
    "\u0673": "\u0627",  # ٳ
    # hamza carriers
    "\u0624": "\u0648",  # ؤ → و
    "\u0626": "\u064a",  # ئ → ي
    # ya / alef maqsura / Persian-Kurdish yeh
    "\u0649": "\u064a",  # ى
    "\u06cc": "\u064a",  # ی
    # ta marbuta and heh forms
    "\u0629": "\u0647",  # ة
    "\u06d5": "\u0647",  # ە (Kurdish ae)
    "\u06be": "\u0647",  # ھ (heh doachashmee, Kurdish h)
    "\u06c0": "\u0647",  # ۀ
    "\u06c1": "\u0647",  # ہ
    # kaf forms
    "\u06a9": "\u0643",  # ک
    "\u06aa": "\u0643",  # ڪ
}


def _fold_char(char: str) -> str:
    code = ord(char)
    if code in _ARABIC_MARKS or code == _TATWEEL:
        return ""
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    if category == "Nd":
        return str(unicodedata.digit(char))
    if char.isspace():
        return " "
    return _LETTERS.get(char, char)


class _FoldTable(dict[int, str | None]):
    """`str.translate` table of `_fold_char`, filled on first sight of each code point.

    At most `limit` entries are kept, so text crafted to hold every code point cannot grow it
    without bound; a code point seen after that is folded by `_fold_char` each time (same result).
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, code: int) -> str | None:
        folded = _fold_char(chr(code))
        value = folded if folded else None  # None: delete the character
        if len(self) < self.limit:
            self[code] = value
        return value


_FOLD = _FoldTable(limit=1 << 16)


def _once(value: str) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    folded = folded.translate(_FOLD)
    folded = unicodedata.normalize("NFKC", folded)
    return " ".join(folded.split())


def normalise(value: str) -> str:
    """The canonical search form of `value` (see the module docstring)."""
    result = _once(value)
    for _ in range(3):  # removing marks can let neighbours compose anew; settle to a fixpoint
        again = _once(result)
        if again == result:
            return result
        result = again
    return result
