# ruff: noqa: RUF001  (the Arabic-script letters in this file are intentional)
"""Matching keys of a name: one spelling-independent form for Arabic script and Latin letters.

A name part ("Muhammad", "محمد", "Mohammed", "Abd al-Rahman", "عبدالرحمن", "Rêbwar", "ڕێبوار")
goes through four steps:

1. `name_units`: the search normalisation every blind index uses (`services.crypto.normalise`:
   NFKC, case-fold, Arabic diacritics, hamza/alef, ya/alef maqsura, ta marbuta, Kurdish and
   Persian keyboard forms), then words. Connectors that only say "son/daughter of" (bin, ibn,
   bint, بن, ابن, بنت) are dropped; a prefix that forms a compound with the next word (Abd, Abu,
   Umm, عبد, ابو, ام) and a trailing "al-Din"/"الدين" stay one unit, so "Abd al-Rahman" and
   "Abdulrahman" are one unit each.
2. `pivot`: a plain Latin transliteration of the unit. Arabic and Sorani Kurdish letters go
   through `anyascii` (a maintained Unicode→ASCII table); Kurdish and Turkish Latin letters whose
   plain ASCII form would lose a sound (ş → sh, ç → ch, x → kh) are spelled out first.
3. `skeleton`: the consonants of the pivot, in classes that Latin spellings of Arabic names
   confuse (q/k/c, t/th, d/dh, s/ṣ, f/ph/v, b/p), vowels and non-initial w/y removed (Arabic
   writes long vowels as و/ي, Latin as ou/ee/u/i), doubled letters once, the article's l in
   "Abd al-" and a final h (ta marbuta, "Abdullah"/"Abdulla") dropped.
4. `phonetic`: a coarser code of the skeleton (velars, dentals and sibilants merged,
   first four classes), which still agrees when the skeleton differs by one confusable letter.

Nothing here is stored: only keyed, truncated HMACs of the skeleton and phonetic code are
(`services.tracing.tokens`). The functions are pure and deterministic, so tokens written at
intake and tokens computed for an enquiry years later agree.
"""

from __future__ import annotations

import re
from functools import lru_cache

from anyascii import anyascii

from services.crypto import normalise

_CONNECTORS = frozenset({"bin", "ibn", "bint", "ben", "binti", "بن", "ابن", "بنت"})
"""Words that only say "son/daughter of" between name parts."""

_PREFIXES = frozenset(
    {"abd", "abdul", "abdel", "abdal", "abdol", "abdoul", "abu", "abou", "abo", "umm", "um"}
    | {"عبد", "ابو", "ام", "ابي"}
)
"""A word that forms one name with the next ("Abd al-Rahman", "Abu Bakr")."""

_ARTICLES = frozenset({"al", "el", "ul", "ad", "ed", "ud", "ar", "er", "ur", "as", "es", "us"})
_ARTICLES |= frozenset({"at", "et", "ut", "az", "ez", "an", "en", "ash", "esh", "ال"})
"""The article written as its own word ("Abd al Rahman", "Nur ed Din")."""

_SUFFIXES = frozenset({"din", "deen", "dine", "addin", "aldin", "eddin", "uddin", "eddine"})
_SUFFIXES |= frozenset({"الدين", "دين"})
"""A last word that belongs to the previous one ("Nur al-Din", "Salah ad-Din")."""

_SPLIT = re.compile(r"[\s\-‐‑–—_.,()/]+")
_MARKS = re.compile(r"['’ʼʻ`ʿʾ\"]")
"""Ayn and hamza written as apostrophes ("Ya'qub", "Sha'ban") are dropped, not split on."""

_KURDISH_VOWELS = str.maketrans({"\u06d5": "\u0627"})
"""Sorani writes its vowels: ە is the vowel e/a (the search folding makes it ه, a consonant,
which would make هەڵمەت "hhlmht" instead of Helmet/Halmat), so it becomes a vowel carrier ا."""

_LATIN_SOUNDS = str.maketrans(
    {
        "ş": "sh",
        "ș": "sh",
        "š": "sh",
        "ç": "ch",
        "č": "ch",
        "x": "kh",
        "\u0638": "\u0632",
        "\u0698": "j",
    }
)
"""Kurdish (Hawar) and Turkish letters whose ASCII form would lose the sound; ظ is written z in
Latin spellings (Nazim, Hafez), not the dh of a table; Kurdish ژ is Hawar j (Jiyan), not zh."""
"""Kurdish (Hawar) and Turkish letters whose ASCII form would lose the sound."""

_DIGRAPHS = (
    ("sch", "C"),
    ("dsh", "J"),
    ("dj", "J"),
    ("zh", "J"),
    ("kh", "X"),
    ("gh", "K"),
    ("sh", "C"),
    ("ch", "C"),
    ("th", "T"),
    ("dh", "D"),
    ("ph", "F"),
    ("ck", "K"),
    ("ou", "u"),
    ("ee", "i"),
)
"""Two-letter spellings of one sound, replaced before single letters (longest first)."""

_CLASSES = str.maketrans(
    {
        "q": "K",
        "k": "K",
        "c": "K",
        "g": "K",
        "j": "J",
        "t": "T",
        "d": "D",
        "s": "S",
        "z": "Z",
        "f": "F",
        "v": "F",
        "p": "B",
        "b": "B",
        "h": "H",
        "l": "L",
        "m": "M",
        "n": "N",
        "r": "R",
        "w": "W",
        "y": "Y",
        "x": "X",
        "a": None,
        "e": None,
        "i": None,
        "o": None,
        "u": None,
    }
)
_SOFT_C = re.compile(r"c(?=[eiy])")
_PHONETIC = str.maketrans({"X": "K", "J": "K", "D": "T", "Z": "T", "C": "S"})


def _unit_words(words: list[str]) -> list[str]:  # noqa: C901  (one pass, one rule a branch)
    units: list[str] = []
    pending = ""
    for word in words:
        if word in _CONNECTORS and not pending:
            continue
        if word in _ARTICLES and not units and not pending:
            continue  # "al Jubouri": a family name's leading article
        if pending:
            if word in _ARTICLES:
                continue  # "abd al rahman": the article is dropped, the name joins
            pending += word
            if word in _PREFIXES:
                continue  # "abd al rahman": keep joining until the name itself
            units.append(pending)
            pending = ""
        elif word in _PREFIXES:
            pending = word
        elif word in _ARTICLES and units:
            pending = units.pop()  # "nur al din": the article joins the previous name
        elif word in _SUFFIXES and units:
            units[-1] += word
        else:
            units.append(word)
    if pending:
        units.append(pending)
    return units


def name_units(text: str) -> list[str]:
    """The name units of `text`, normalised (see the module docstring, step 1)."""
    text = text.translate(_KURDISH_VOWELS)
    words = [word for word in _SPLIT.split(_MARKS.sub("", normalise(text))) if word]
    return _unit_words(words)


@lru_cache(maxsize=65_536)
def _spelled(unit: str) -> str:
    """The Latin letters of `unit`, with `|` after each Arabic-script letter's transliteration:
    س followed by ح is "s|h|", never the digraph "sh" (ش), as Sahar/سحر must show."""
    out = []
    for char in unit.translate(_LATIN_SOUNDS):
        latin = "".join(c for c in anyascii(char).lower() if "a" <= c <= "z")
        out.append(latin + "|" if latin and _is_arabic_script(char) else latin)
    return "".join(out)


def _is_arabic_script(char: str) -> bool:
    code = ord(char)
    return 0x0600 <= code <= 0x08FF or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF


def pivot(unit: str) -> str:
    """A plain lowercase Latin form of one name unit (step 2)."""
    return _spelled(unit).replace("|", "")


def _article_forms(unit: str) -> tuple[str, ...]:
    """The unit, and without a joined leading article ("الجبوري", "Aljubouri", "Elhousine"):
    whether an "al"/"el" at the start is an article cannot be told from the letters, so both
    forms are keys. The article inside a joined "الدين" ("نورالدين") is always dropped."""
    unit = unit.replace("الدين", "دين")
    forms = [unit]
    for article, rest in (("ال", 3), ("al", 4), ("el", 4)):
        if unit.startswith(article) and len(unit) - len(article) >= rest:
            forms.append(unit[len(article) :])
    if unit.endswith("ه") and len(unit) > 2:
        # a ta marbuta is "a" in "Fatima" but "at" in "Hikmat", "Izzat", "Hibat"
        forms.extend(form[:-1] + "ت" for form in list(forms))
    return tuple(forms)


def _code(latin: str) -> str:
    latin = _SOFT_C.sub("s", latin)  # French "Kacel", "Hacini": c before e/i/y is s
    if latin.startswith("ou") and len(latin) > 2 and latin[2] in "aeiy":
        latin = "w" + latin[2:]  # French "Ouassim" = Wassim
    for digraph, code in _DIGRAPHS:
        latin = latin.replace(digraph, code)
    coded = latin.replace("|", "").translate(_CLASSES)
    # Long vowels: Arabic writes them as و/ي (w/y), Latin as ou/ee/u/i/v: no W/Y in a key.
    coded = coded.replace("W", "").replace("Y", "")
    collapsed = re.sub(r"(.)\1+", r"\1", coded)
    if collapsed.startswith("BDL") and len(collapsed) > 4:
        collapsed = "BD" + collapsed[3:]  # "Abd al-Rahman" / "Abdurrahman" / "Abdel Kader"
    if len(collapsed) > 4 and collapsed.endswith("LDN"):
        collapsed = collapsed[:-3] + "DN"  # "Nouraldeen" / "Nureddin"
    if len(collapsed) >= 2 and collapsed.endswith("H"):
        collapsed = collapsed[:-1]  # ta marbuta, "Abdullah" / "Abdulla", "Ateyeh" / "Atya"
    return collapsed


@lru_cache(maxsize=65_536)
def skeletons(unit: str) -> frozenset[str]:
    """The consonant skeletons of one name unit (step 3); empty when nothing is left."""
    return frozenset(code for form in _article_forms(unit) if (code := _code(_spelled(form))))


def skeleton(unit: str) -> str:
    """The skeleton of the unit as written (article kept): for display in tests and tools."""
    return _code(_spelled(unit.replace("الدين", "دين")))


@lru_cache(maxsize=65_536)
def phonetics(unit: str) -> frozenset[str]:
    """Coarser phonetic codes of one name unit (step 4); empty when nothing is left."""
    codes = (re.sub(r"(.)\1+", r"\1", code.translate(_PHONETIC))[:4] for code in skeletons(unit))
    return frozenset(code for code in codes if code)
