"""Blind indexes: truncated, keyed HMACs of normalised values, for exact-match search.

Each field has its own HMAC-SHA256 key, derived by HKDF from the keyring's blind-index root
(separate from the KEKs) with the field name as `info`. A token is the first `bits` bits of the
HMAC, as lowercase hex. Truncation makes tokens collide on purpose: a token names a handful of
candidate records (which the caller decrypts and filters), never exactly one, so a stolen index
does not confirm that a given child is in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Sequence

from services.crypto.keyring import Keyring
from services.crypto.normalise import normalise

MIN_COINCIDENCES = 2


def blind_index_bits(planned_records: int) -> int:
    """Truncation for `planned_records` records, within the leakage budget.

    With R records and b-bit tokens, a value matches by coincidence C = R / 2^b other records on
    average. The rule asks for 2 <= C < sqrt(R):

        C >= 2        ⇔  2^b <= R / 2      ⇔  b <= log2(R) - 1
        C < sqrt(R)   ⇔  2^b > sqrt(R)     ⇔  b >  log2(R) / 2

    We take the largest b allowed, b = floor(log2(R / 2)): the fewest false candidates to
    decrypt per search while every token still covers at least two records on average.

    Examples (C = R / 2^b):
        R =       100  →  b =  5,  C =   3.1  (sqrt(R) =   10)
        R =     1,000  →  b =  8,  C =   3.9  (sqrt(R) =   32)
        R =    10,000  →  b = 12,  C =   2.4  (sqrt(R) =  100)
        R =   100,000  →  b = 15,  C =   3.1  (sqrt(R) =  316)
        R = 1,000,000  →  b = 18,  C =   3.8  (sqrt(R) = 1000)
    """
    if planned_records < 8:
        raise ValueError("the blind-index rule needs at least 8 planned records")
    bits = math.floor(math.log2(planned_records / MIN_COINCIDENCES))
    while planned_records / 2**bits < MIN_COINCIDENCES:  # guard float rounding at powers of two
        bits -= 1
    coincidences = planned_records / 2**bits
    if not (coincidences < math.sqrt(planned_records)):
        raise ValueError(f"no truncation satisfies 2 <= C < sqrt(R) for R={planned_records}")
    return bits


def truncated_hmac(key: bytes, value: str, bits: int) -> str:
    """The first `bits` bits of HMAC-SHA256(key, value), as lowercase hex (ceil(bits/4) chars)."""
    if not 1 <= bits <= 64:
        raise ValueError("a truncated token has 1 to 64 bits")
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()
    truncated = int.from_bytes(digest[:8], "big") >> (64 - bits)
    return f"{truncated:0{math.ceil(bits / 4)}x}"


def expected_coincidences(planned_records: int, bits: int) -> float:
    return planned_records / float(2**bits)


class BlindIndex:
    """Tokens for exact-match search: `token(field, value)`; one HMAC key per field."""

    def __init__(self, keyring: Keyring, planned_records: int) -> None:
        self._keyring = keyring
        self.planned_records = planned_records
        self.bits = blind_index_bits(planned_records)
        self._keys: dict[str, bytes] = {}

    @property
    def hex_length(self) -> int:
        """Characters in a token (the indexed column needs at least this many)."""
        return math.ceil(self.bits / 4)

    def _key(self, field: str) -> bytes:
        key = self._keys.get(field)
        if key is None:
            key = self._keyring.blind_index_key(field)
            self._keys[field] = key
        return key

    def token(self, field: str, value: str) -> str | None:
        """The blind-index token of `value` for `field`; None when it normalises to nothing."""
        normalised = normalise(value)
        if not normalised:
            return None
        return truncated_hmac(self._key(field), normalised, self.bits)

    def compound_token(self, field: str, parts: Sequence[str]) -> str | None:
        """One token over several values (a name and a birth date), each normalised; None when
        any part normalises to nothing. The parts are joined as a JSON array, so no choice of
        values can make two different tuples give the same HMAC input."""
        normalised = [normalise(part) for part in parts]
        if not normalised or not all(normalised):
            return None
        value = json.dumps(normalised, ensure_ascii=False, separators=(",", ":"))
        return truncated_hmac(self._key(field), value, self.bits)
