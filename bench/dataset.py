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
    """Given-name and family-name pools sized so full names are nearly unique at 50,000 cases."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        given = {_latin_name(rng) for _ in range(300)} | {_arabic_name(rng) for _ in range(200)}
        family = {_latin_name(rng) + _latin_name(rng).lower() for _ in range(1500)}
        family |= {_arabic_name(rng) for _ in range(700)}
        self.given = sorted(given)
        self.family = sorted(family)


_POOLS = NamePools()


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
    child: dict[str, Any] = {
        "given_name": rng.choice(_POOLS.given),
        "family_name": rng.choice(_POOLS.family),
        "sex": rng.choice(["female", "male", "male", "female", "unknown"]),
    }
    if has_dob:
        child["date_of_birth"] = born.isoformat()
    else:
        child["estimated_age"] = rng.randint(3, 17)
    caregivers = [
        {
            "name": f"{rng.choice(_POOLS.given)} {rng.choice(_POOLS.family)}",
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
