"""Synthetic, deterministic case payloads in the contract's shapes (shared by Haven and baseline).

About 2 KB of sensitive content per case across 8 fields of the case body (child, location,
caregivers, separation_status, protection_concerns, risk_level, narrative and the child's date of
birth/estimated age), a few notes and some referrals. Names mix Latin transliterations and Arabic
script so Haven's search normalisation does real work. Nothing here is a real person.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any


def _split(text: str) -> list[str]:
    return text.split()


_LATIN_SYLLABLES = _split(
    "a ab ad al am an ar as ba da di fa ha hu ja ka la li ma mi mu na nu ra ri sa sh "
    "su ta tu wa ya za zi ha ir ou el"
)
_ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_WORDS = _split(
    "child family home school road camp border village shelter doctor teacher water night "
    "morning river market checkpoint uncle aunt brother sister grandmother support follow "
    "visit meeting assessment plan education health referral safe risk documents caregiver "
    "community centre transport clinic medicine food clothes playing drawing sleeping"
)
GOVERNORATES = ["Ninewa", "Dohuk", "Erbil", "Anbar", "Salah al-Din", "Kirkuk", "Diyala", "Baghdad"]
CONCERNS = [
    "caafag",
    "separated_unaccompanied",
    "physical_injury",
    "disability",
    "psychosocial_distress",
    "witnessed_violence",
    "physical_violence",
    "detention",
    "child_labour",
    "out_of_school",
    "lack_of_documentation",
    "explosive_ordnance",
]
RELATIONSHIPS = ["mother", "father", "grandmother", "uncle", "aunt", "older sibling", "neighbour"]
SERVICE_TYPES = ["mhpss", "medical", "education", "family_tracing", "legal_aid", "documentation"]


def _latin_name(rng: random.Random) -> str:
    return "".join(rng.choice(_LATIN_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _arabic_name(rng: random.Random) -> str:
    return "".join(rng.choice(_ARABIC_LETTERS) for _ in range(rng.randint(3, 6)))


class NamePools:
    """The synthetic tail: rare given names and family names (most full names built from them
    are unique), behind the common names below."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        given = {_latin_name(rng) for _ in range(300)} | {_arabic_name(rng) for _ in range(200)}
        family = {_latin_name(rng) + _latin_name(rng).lower() for _ in range(1500)}
        family |= {_arabic_name(rng) for _ in range(700)}
        self.given = sorted(given)
        self.family = sorted(family)


_POOLS = NamePools()

# Common given and family names of Iraq and its neighbours, most common first, each in a Latin
# transliteration and in Arabic script. Drawn with Zipf-like weights (1 / rank^s), so a handful of
# names cover a large share of children (in Iraq a large share of boys are called Muhammad,
# Ahmad, Ali or Hussein) and full-name coincidences are common, as they are in the field.
# fmt: off
_MALE = [
    ("Muhammad", "محمد"), ("Ali", "علي"), ("Ahmad", "أحمد"), ("Hussein", "حسين"),
    ("Hassan", "حسن"), ("Abbas", "عباس"), ("Mustafa", "مصطفى"), ("Omar", "عمر"),
    ("Mahmoud", "محمود"), ("Abdullah", "عبدالله"), ("Karim", "كريم"), ("Yusuf", "يوسف"),
    ("Ibrahim", "إبراهيم"), ("Khalid", "خالد"), ("Haidar", "حيدر"), ("Zaid", "زيد"),
    ("Sajjad", "سجاد"), ("Murtada", "مرتضى"), ("Saif", "سيف"), ("Ammar", "عمار"),
    ("Bilal", "بلال"), ("Hamza", "حمزة"), ("Salim", "سالم"), ("Jasim", "جاسم"),
    ("Kadhim", "كاظم"), ("Adnan", "عدنان"), ("Faris", "فارس"), ("Walid", "وليد"),
    ("Rami", "رامي"), ("Tariq", "طارق"), ("Kawa", "کاوە"), ("Dilshad", "دلشاد"),
    ("Azad", "ئازاد"), ("Rebwar", "ڕێبوار"), ("Idris", "إدريس"), ("Nawaf", "نواف"),
    ("Qasim", "قاسم"), ("Majid", "ماجد"), ("Anas", "أنس"), ("Yasir", "ياسر"),
]
_FEMALE = [
    ("Fatima", "فاطمة"), ("Zainab", "زينب"), ("Maryam", "مريم"), ("Noor", "نور"),
    ("Aisha", "عائشة"), ("Zahraa", "زهراء"), ("Huda", "هدى"), ("Sara", "سارة"),
    ("Amal", "أمل"), ("Rukaya", "رقية"), ("Hawra", "حوراء"), ("Layla", "ليلى"),
    ("Shaima", "شيماء"), ("Duaa", "دعاء"), ("Rana", "رنا"), ("Yasmin", "ياسمين"),
    ("Hiba", "هبة"), ("Asma", "أسماء"), ("Ruqaya", "رقيه"), ("Malak", "ملاك"),
    ("Tabarak", "تبارك"), ("Ghufran", "غفران"), ("Baneen", "بنين"), ("Narin", "نارين"),
    ("Shilan", "شیلان"), ("Avin", "ئاڤین"), ("Lana", "لانا"), ("Dima", "ديما"),
    ("Sumaya", "سمية"), ("Iman", "إيمان"),
]
_FAMILY = [
    ("Ali", "علي"), ("Hassan", "حسن"), ("Hussein", "حسين"), ("Muhammad", "محمد"),
    ("Ahmad", "أحمد"), ("Al-Jubouri", "الجبوري"), ("Al-Obaidi", "العبيدي"),
    ("Al-Dulaimi", "الدليمي"), ("Al-Tamimi", "التميمي"), ("Abbas", "عباس"),
    ("Kareem", "كريم"), ("Jasim", "جاسم"), ("Khalaf", "خلف"), ("Salih", "صالح"),
    ("Al-Shammari", "الشمري"), ("Al-Zubaidi", "الزبيدي"), ("Ibrahim", "إبراهيم"),
    ("Mahmoud", "محمود"), ("Al-Bayati", "البياتي"), ("Al-Rubaie", "الربيعي"),
    ("Abdullah", "عبدالله"), ("Kadhim", "كاظم"), ("Al-Janabi", "الجنابي"),
    ("Al-Khafaji", "الخفاجي"), ("Omar", "عمر"), ("Yusuf", "يوسف"), ("Salim", "سالم"),
    ("Al-Kurdi", "الكردي"), ("Barzani", "بارزاني"), ("Hawrami", "هەورامی"),
    ("Al-Saadi", "السعدي"), ("Al-Maliki", "المالكي"), ("Al-Hashimi", "الهاشمي"),
    ("Al-Azzawi", "العزاوي"), ("Al-Ani", "العاني"), ("Al-Hadithi", "الحديثي"),
    ("Al-Samarrai", "السامرائي"), ("Al-Tikriti", "التكريتي"), ("Al-Mosuli", "الموصلي"),
    ("Al-Basri", "البصري"),
]
# fmt: on
_COMMON_GIVEN_SHARE = 0.9
"""Given names from the common list; the rest from the synthetic tail."""
_COMMON_FAMILY_SHARE = 0.6
_ARABIC_SCRIPT_SHARE = 0.4
"""Names written in Arabic script (the rest transliterated): the same name in two scripts is
two different strings to search, as it is for caseworkers."""


def _zipf(count: int, exponent: float) -> list[float]:
    weights = [1 / (rank**exponent) for rank in range(1, count + 1)]
    total = sum(weights)
    cumulative, running = [], 0.0
    for weight in weights:
        running += weight / total
        cumulative.append(running)
    return cumulative


_MALE_CUM = _zipf(len(_MALE), 1.1)
_FEMALE_CUM = _zipf(len(_FEMALE), 1.1)
_FAMILY_CUM = _zipf(len(_FAMILY), 0.9)


def _pick(
    rng: random.Random, names: list[tuple[str, str]], cumulative: list[float], arabic: bool
) -> str:
    latin, in_arabic = rng.choices(names, cum_weights=cumulative)[0]
    return in_arabic if arabic else latin


def given_name(rng: random.Random, sex: str, arabic: bool) -> str:
    if rng.random() >= _COMMON_GIVEN_SHARE:
        return rng.choice(_POOLS.given)
    female = sex == "female" or (sex == "unknown" and rng.random() < 0.5)
    if female:
        return _pick(rng, _FEMALE, _FEMALE_CUM, arabic)
    return _pick(rng, _MALE, _MALE_CUM, arabic)


def family_name(rng: random.Random, arabic: bool) -> str:
    if rng.random() >= _COMMON_FAMILY_SHARE:
        return rng.choice(_POOLS.family)
    return _pick(rng, _FAMILY, _FAMILY_CUM, arabic)


NAMESAKES = [
    ("male", "Muhammad", "Ali"),
    ("male", "Ali", "Hussein"),
    ("male", "Ahmad", "Hassan"),
    ("female", "Fatima", "Ali"),
    ("female", "Zainab", "Hussein"),
]
"""The namesake-heavy intake run: every child has one of these few full names."""


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return (" ".join(words))[:chars].rstrip() + "."


def phone(rng: random.Random) -> str:
    return "+9647" + "".join(rng.choice("0123456789") for _ in range(9))


def case_body(rng: random.Random, *, narrative_chars: int = 1500) -> dict[str, Any]:
    """One `POST /cases` body: ~2 KB once serialised."""
    born = date(2008, 1, 1) + timedelta(days=rng.randint(0, 16 * 365))
    has_dob = rng.random() < 0.7
    sex = rng.choice(["female", "male", "male", "female", "unknown"])
    arabic = rng.random() < _ARABIC_SCRIPT_SHARE
    child: dict[str, Any] = {
        "given_name": given_name(rng, sex, arabic),
        "family_name": family_name(rng, arabic),
        "sex": sex,
    }
    if has_dob:
        child["date_of_birth"] = born.isoformat()
    else:
        child["estimated_age"] = rng.randint(3, 17)
    caregivers = [
        {
            "name": f"{given_name(rng, 'unknown', arabic)} {family_name(rng, arabic)}",
            "relationship": rng.choice(RELATIONSHIPS),
            "phone": phone(rng),
        }
        for _ in range(rng.randint(1, 3))
    ]
    return {
        "child": child,
        "location": {
            "governorate": rng.choice(GOVERNORATES),
            "district": f"District {rng.randint(1, 40)}",
            "address": f"{_text(rng, 40)} block {rng.randint(1, 300)}",
        },
        "caregivers": caregivers,
        "separation_status": rng.choice(["unaccompanied", "separated", "with_caregiver"]),
        "protection_concerns": sorted(set(rng.sample(CONCERNS, rng.randint(1, 4)))),
        "risk_level": rng.choice(["high", "medium", "low"]),
        "narrative": _text(rng, narrative_chars),
    }


def note_text(rng: random.Random) -> str:
    return _text(rng, rng.randint(150, 450))


def referral_body(rng: random.Random) -> dict[str, Any]:
    return {
        "service_type": rng.choice(SERVICE_TYPES),
        "urgency": rng.choice(["high", "medium", "low"]),
        "reason": _text(rng, 200),
        "shared_fields": ["child.given_name", "child.family_name", "protection_concerns"],
        "consent": {"given_by": "caregiver", "note": _text(rng, 60)},
    }


def patch_body(rng: random.Random) -> dict[str, Any]:
    """A `PATCH /cases/{id}` body: a new narrative and risk level (re-encrypts the content)."""
    return {"narrative": _text(rng, 1300), "risk_level": rng.choice(["high", "medium", "low"])}


def full_name(body: dict[str, Any]) -> str:
    return f"{body['child']['given_name']} {body['child']['family_name']}"


def namesake_body(rng: random.Random) -> dict[str, Any]:
    """An intake body whose child has one of the few `NAMESAKES` full names (the rest as usual,
    birth dates and estimated ages included)."""
    body = case_body(rng)
    sex, given, family = rng.choice(NAMESAKES)
    body["child"].update(given_name=given, family_name=family, sex=sex)
    return body
