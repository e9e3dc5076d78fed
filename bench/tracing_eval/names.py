"""Name pools for the evaluation set: who may be a child, a father, a mother, a family.

A name is an identity (its Arabic-script form) with its attested Latin spellings and their
counts. Pools are read from `arabic-name-romanizer`'s names database (read directly with
sqlite3: the package's own model is not needed), restricted to Arab-world countries; the Iraqi
pool is the names tagged IQ. The Kurdish pool is a list of common Sorani/Kurmanji given names in
Kurdish Latin (Hawar), written to Sorani script by `asosoft` and respelt in the English-style
Latin forms NGOs and passports use. Mothers' names come from `faker`'s Arabic locale.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ARAB_COUNTRIES = frozenset(
    "IQ SY LB PS JO SA EG YE AE KW QA BH OM LY SD DZ MA TN".split()  # noqa: SIM905
)

KURDISH_LATIN = [
    "Aras",
    "Azad",
    "Rêbwar",
    "Şîlan",
    "Hêmin",
    "Helmet",
    "Berfîn",
    "Jiyan",
    "Kawa",
    "Diyar",
    "Sîrwan",
    "Xebat",
    "Çiya",
    "Hejar",
    "Peşeng",
    "Şwan",
    "Karwan",
    "Hawre",
    "Dilşad",
    "Avîn",
    "Bêrîvan",
    "Nazdar",
    "Rojîn",
    "Şirîn",
    "Gulistan",
    "Hewar",
    "Baran",
    "Bêstûn",
    "Serdar",
    "Soran",
    "Zana",
    "Dara",
    "Kamaran",
    "Berzan",
    "Şaho",
    "Renas",
    "Rêjîn",
    "Lana",
    "Nîgar",
    "Hana",
    "Newroz",
    "Awat",
    "Ehmed",
    "Dilman",
    "Goran",
    "Hunar",
    "Kardo",
    "Mehdî",
    "Rawêj",
    "Sakar",
    "Taban",
    "Zirek",
    "Şêrko",
    "Bextiyar",
    "Jîna",
    "Sozan",
    "Derya",
    "Hîwa",
    "Roj",
    "Ranj",
    "Îdrîs",
]


@dataclass
class Name:
    """One identity: its Arabic-script form and Latin spellings with their counts."""

    arabic: str
    latin: dict[str, int]
    weight: int
    kurdish: bool = False

    def spellings(self) -> list[str]:
        return sorted(self.latin, key=lambda spelling: -self.latin[spelling])


@dataclass
class Pools:
    given: list[Name]
    iraqi: list[Name]
    family: list[Name]
    kurdish: list[Name]
    mothers: list[str]
    frequency: dict[str, int] = field(default_factory=dict)
    """Public name-frequency list (Arabic form → count), the frequency attacker's knowledge."""


def names_database() -> Path:
    spec = importlib.util.find_spec("arabic_name_romanizer")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "the evaluation needs the [eval] extra: pip install -e '.[eval]' (make tracing-eval)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "names.sqlite3"
    if not path.exists():
        raise SystemExit(f"names database missing: {path}")
    return path


_ARABIC = re.compile(r"^[\u0621-\u064a]+$")


def _load(role: str, countries: frozenset[str], min_count: int) -> list[Name]:
    with sqlite3.connect(f"file:{names_database()}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT arabic_key, latin, country, count FROM units WHERE role = ? AND count >= 1",
            (role,),
        ).fetchall()
    spellings: dict[str, dict[str, int]] = defaultdict(dict)
    for arabic, latin, country, count in rows:
        if country not in countries or not _ARABIC.match(arabic) or not latin.isascii():
            continue
        latin = latin.strip()
        if not re.match(r"^[A-Za-z][A-Za-z' -]*$", latin):
            continue
        spellings[arabic][latin] = spellings[arabic].get(latin, 0) + int(count)
    names = [
        Name(arabic, latin, sum(latin.values()))
        for arabic, latin in spellings.items()
        if sum(latin.values()) >= min_count
    ]
    return sorted(names, key=lambda name: name.arabic)


def _kurdish_latin_variants(hawar: str) -> dict[str, int]:
    """English-style respellings of a Kurdish Latin (Hawar) name, as aid workers write them."""
    base = hawar
    plain = (
        base.replace("ê", "e")
        .replace("î", "i")
        .replace("û", "u")
        .replace("Ê", "E")
        .replace("Î", "I")
        .replace("ş", "sh")
        .replace("Ş", "Sh")
        .replace("ç", "ch")
        .replace("Ç", "Ch")
        .replace("x", "kh")
        .replace("X", "Kh")
    )
    variants = {base: 3, plain: 5}
    variants[plain.replace("e", "a", 1) if "e" in plain[1:] else plain + "h"] = 1
    variants[plain.replace("i", "ee").replace("u", "oo")] = 1
    return variants


def _kurdish() -> list[Name]:
    from asosoft import Transliteration  # eval extra only

    names = []
    for hawar in KURDISH_LATIN:
        sorani = Transliteration.La2Ar(hawar)
        if hawar[0] in "Rr":  # word-initial r is always the trilled ڕ in Sorani
            sorani = "ڕ" + sorani[1:]
        names.append(Name(sorani, _kurdish_latin_variants(hawar), 20, kurdish=True))
    return names


def _mothers(seed: int) -> list[str]:
    from faker import Faker  # eval extra only

    fake = Faker("ar_AA")
    fake.seed_instance(seed)
    return sorted({fake.first_name_female() for _ in range(2000)})


def load_pools(seed: int) -> Pools:
    given = _load("given", ARAB_COUNTRIES, 2)
    iraqi = _load("given", frozenset({"IQ"}), 1)
    family = _load("surname", ARAB_COUNTRIES, 2)
    frequency: dict[str, int] = {}
    for name in given + iraqi:
        frequency[name.arabic] = max(frequency.get(name.arabic, 0), name.weight)
    return Pools(given, iraqi, family, _kurdish(), _mothers(seed), frequency)


def pick(rng: random.Random, names: list[Name]) -> Name:
    """A name drawn by its attested frequency (popular names are popular children's names)."""
    return rng.choices(names, weights=[name.weight for name in names])[0]
