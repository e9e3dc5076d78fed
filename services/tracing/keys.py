"""The token budget and the per-index HMAC keys of tracing's name indexes.

Every name field (`child`, `father`, `grandfather`, `mother`, `family`) has two indexes, the
consonant skeleton and the coarser phonetic code (`services.tracing.normalise`). Their truncation
follows CipherSweet's index planner: an attacker holding the database can intersect every index
on a field, so the bits of all indexes on one field are budgeted together. With R planned
records and b_i bits per index, the expected number of records sharing one combination of token
values is C = R / 2^(sum b_i); we keep C >= 2, the same rule as the exact-match indexes
(`services.crypto.blind_index`), so a dump never singles out one child by a name token.

Example at the default plan of 100,000 cases: 15 bits per field, 8 for the skeleton and 7 for
the phonetic code, C = 100,000 / 2^15 = 3.05.

Keys: one HMAC-SHA256 key per (field, index), derived by HKDF from the keyring's blind-index root
(separate from the KEKs) with `tracing:<field>:<kind>` as info; cases and tracing requests use the
same keys, so their tokens can agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from services.crypto import Keyring
from services.crypto.blind_index import MIN_COINCIDENCES, blind_index_bits


class NameField(StrEnum):
    CHILD = "child"
    FATHER = "father"
    GRANDFATHER = "grandfather"
    MOTHER = "mother"
    FAMILY = "family"


class KeyKind(StrEnum):
    SKELETON = "skeleton"
    PHONETIC = "phonetic"


@dataclass(frozen=True)
class Budget:
    """Bits per index of one field at `planned_records`."""

    planned_records: int
    bits: dict[KeyKind, int]

    @property
    def total_bits(self) -> int:
        return sum(self.bits.values())

    @property
    def expected_records_per_value(self) -> float:
        """C = R / 2^(sum of bits over the field's indexes): at least MIN_COINCIDENCES."""
        return self.planned_records / float(2**self.total_bits)


def plan(planned_records: int) -> Budget:
    """The largest total the rule allows, split between the field's two indexes (the skeleton,
    the finer key, gets the odd bit)."""
    total = blind_index_bits(planned_records)
    phonetic = total // 2
    budget = Budget(
        planned_records,
        {KeyKind.SKELETON: total - phonetic, KeyKind.PHONETIC: phonetic},
    )
    if budget.expected_records_per_value < MIN_COINCIDENCES:  # pragma: no cover - by design
        raise ValueError("token budget breaks the leakage rule")
    return budget


def hex_length(bits: int) -> int:
    return math.ceil(bits / 4)


class TracingKeys:
    """The HMAC keys of every (field, kind), derived once per keyring."""

    def __init__(self, keyring: Keyring) -> None:
        self._keys = {
            (field, kind): keyring.blind_index_key(f"tracing:{field}:{kind}")
            for field in NameField
            for kind in KeyKind
        }

    def key(self, field: NameField, kind: KeyKind) -> bytes:
        return self._keys[(field, kind)]
