# ruff: noqa: RUF001  (Arabic-script names are intentional)
"""The seeded evaluation set: registered children (cases) and enquiries about them, with noise.

A child has a given name, father's and grandfather's names (Iraqi naming), sometimes a family
name, a mother, a sex and a birth date (or only an age). It is registered in Latin letters or
in Arabic script. An enquiry about it is written as a family would: in the same or the other
script, another attested spelling, hamza/ta marbuta/ya variants, "Abd al-" joined or split,
"bin/ibn" inside a chain, a missing name part, an age instead of a birth date, and sometimes a
given name the child no longer uses. One enquiry in ten is about a child who is not registered
(it must find nothing `likely`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bench.tracing_eval.names import Name, Pools, pick

TODAY = date(2026, 6, 1)
NEGATIVE_SHARE = 0.10


@dataclass
class Child:
    index: int
    group: str  # "arab", "iraqi" or "kurdish"
    given: Name
    father: Name
    grandfather: Name
    family: Name | None
    mother: str | None
    sex: str
    born: date
    dob_known: bool
    script: str  # "latin" or "arabic": how the case was registered
    document: dict[str, Any] = field(default_factory=dict)


@dataclass
class Enquiry:
    target: int | None  # the child's index, None when the child is not registered
    group: str
    cross_script: bool
    noise: list[str]
    document: dict[str, Any]


def _spell(rng: random.Random, name: Name, script: str, avoid: str | None = None) -> str:
    if script == "arabic":
        return name.arabic
    spellings = name.spellings()
    if avoid is not None and len(spellings) > 1 and avoid in spellings:
        spellings = [spelling for spelling in spellings if spelling != avoid]
    return rng.choices(spellings, weights=[name.latin[s] for s in spellings])[0]


def _child(rng: random.Random, pools: Pools, index: int) -> Child:
    roll = rng.random()
    group = "kurdish" if roll < 0.15 else "iraqi" if roll < 0.40 else "arab"
    pool = pools.iraqi if group == "iraqi" else pools.given

    def name() -> Name:
        if group == "kurdish" and rng.random() < 0.6:
            return pick(rng, pools.kurdish)
        return pick(rng, pool)

    born = date(rng.randint(2008, 2023), rng.randint(1, 12), rng.randint(1, 28))
    child = Child(
        index=index,
        group=group,
        given=name(),
        father=name(),
        grandfather=name(),
        family=pick(rng, pools.family) if rng.random() < 0.45 else None,
        mother=rng.choice(pools.mothers) if rng.random() < 0.5 else None,
        sex=rng.choice(("female", "male")),
        born=born,
        dob_known=rng.random() < 0.7,
        script="arabic" if rng.random() < 0.4 else "latin",
    )
    child.document = _case_document(rng, child)
    return child


def _case_document(rng: random.Random, child: Child) -> dict[str, Any]:
    script = child.script
    given = _spell(rng, child.given, script)
    father = _spell(rng, child.father, script)
    grandfather = _spell(rng, child.grandfather, script)
    # The intake form needs a family name: without one, caseworkers write the grandfather's.
    family = _spell(rng, child.family, script) if child.family else grandfather
    other = "arabic" if script == "latin" else "latin"
    body: dict[str, Any] = {
        "given_name": given,
        "family_name": family,
        "sex": child.sex,
        "father_name": father,
        "grandfather_name": grandfather,
        "mother_name": child.mother,
    }
    if rng.random() < 0.2:
        body["other_names"] = [_spell(rng, child.given, other)]
    if child.dob_known:
        body["date_of_birth"] = child.born.isoformat()
    else:
        body["estimated_age"] = max(0, TODAY.year - child.born.year + rng.randint(-1, 1))
    return {"child": body}


def build_children(pools: Pools, count: int, seed: int) -> list[Child]:
    rng = random.Random(seed)
    return [_child(rng, pools, index) for index in range(count)]


_HAMZA = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"})


def _arabic_variant(rng: random.Random, text: str) -> str:
    """Hamza, ta marbuta and ya written the other way (as on a phone keyboard)."""
    if rng.random() < 0.5:
        return text.translate(_HAMZA)
    if text.endswith("ي"):
        return text[:-1] + "ى"
    return text[:-1] + "ة" if text.endswith("ه") else text


def _abd(text: str) -> str:
    """ "Abd al-" joined or split."""
    if text.startswith("عبد ال"):
        return "عبدال" + text[6:]
    if text.startswith("عبدال"):
        return "عبد ال" + text[5:]
    lower = text.lower()
    for joined, split in (("abdul", "Abd al-"), ("abdel", "Abd el "), ("abdal", "Abd al ")):
        if lower.startswith(joined) and len(text) > len(joined) + 2:
            return split + text[len(joined) :].capitalize()
    if lower.startswith("abd ") or lower.startswith("abd-"):
        return "Abdul" + text[4:].replace("al-", "").replace("el-", "").lower()
    return text


def _enquiry(rng: random.Random, pools: Pools, child: Child, target: int | None) -> Enquiry:
    cross = rng.random() < (0.6 if child.group == "kurdish" else 0.45)
    script = child.script if not cross else ("latin" if child.script == "arabic" else "arabic")
    noise: list[str] = ["cross_script"] if cross else []
    registered = child.document["child"]
    given_name = child.given
    if rng.random() < 0.05:
        given_name = pick(rng, pools.given)
        noise.append("changed_given_name")

    def spell(name: Name, registered_as: str | None) -> str:
        text = _spell(rng, name, script, avoid=registered_as if not cross else None)
        if script == "latin" and registered_as and text != registered_as:
            noise.append("other_spelling")
        if script == "arabic" and rng.random() < 0.3:
            varied = _arabic_variant(rng, text)
            if varied != text:
                noise.append("arabic_letter_variant")
            text = varied
        if rng.random() < 0.5:
            joined = _abd(text)
            if joined != text:
                noise.append("abd_joined_split")
            text = joined
        return text

    given = spell(given_name, registered.get("given_name"))
    father = spell(child.father, registered.get("father_name"))
    grandfather = spell(child.grandfather, registered.get("grandfather_name"))
    sought: dict[str, Any] = {"names": [given], "sex": child.sex}
    if rng.random() < 0.3:
        connector = (
            rng.choice(("", "", " bin", " ibn")) if script == "latin" else rng.choice(("", " بن"))
        )
        if connector:
            noise.append("bin_ibn")
        sought["names"] = [f"{given}{connector} {father}{connector} {grandfather}"]
    drop = rng.random()
    if drop < 0.12:
        noise.append("missing_father")
    else:
        sought["father_name"] = father
    if 0.12 <= drop < 0.35:
        noise.append("missing_grandfather")
    else:
        sought["grandfather_name"] = grandfather
    if child.mother and rng.random() < 0.3:
        sought["mother_name"] = child.mother
    if child.dob_known and rng.random() < 0.5:
        sought["date_of_birth"] = child.born.isoformat()
    else:
        sought["estimated_age"] = max(0, TODAY.year - child.born.year + rng.randint(-1, 1))
        noise.append("age_only")
    if rng.random() < 0.05:
        sought["sex"] = "unknown"
    return Enquiry(target, child.group, cross, noise, {"sought": sought})


def build_enquiries(pools: Pools, children: list[Child], count: int, seed: int) -> list[Enquiry]:
    rng = random.Random(seed + 1)
    enquiries = []
    for number in range(count):
        if rng.random() < NEGATIVE_SHARE:
            stranger = _child(rng, pools, -1 - number)
            enquiries.append(_enquiry(rng, pools, stranger, None))
        else:
            child = rng.choice(children)
            enquiries.append(_enquiry(rng, pools, child, child.index))
    return enquiries
