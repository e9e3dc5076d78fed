"""Blind-index sizing (the leakage budget) and tokens."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.config import Settings
from services.crypto import BlindIndex, Keyring, init_keyring
from services.crypto.blind_index import blind_index_bits


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return init_keyring(Settings(key_file=tmp_path / "keyring.json"))


@settings(max_examples=300)
@given(st.integers(min_value=8, max_value=10**12))
def test_bits_satisfy_the_design_rule(records: int) -> None:
    bits = blind_index_bits(records)
    coincidences = records / 2**bits
    assert 2 <= coincidences < math.sqrt(records)
    # and it is the largest such truncation: one more bit would drop below 2 coincidences
    assert records / 2 ** (bits + 1) < 2


@pytest.mark.parametrize(
    ("records", "bits"),
    [(100, 5), (1_000, 8), (10_000, 12), (100_000, 15), (1_000_000, 18), (1024, 9)],
)
def test_sizing_table(records: int, bits: int) -> None:
    assert blind_index_bits(records) == bits


def test_tokens_are_short_hex_stable_and_per_field(keyring: Keyring, tmp_path: Path) -> None:
    index = BlindIndex(keyring, 100_000)
    assert index.bits == 15
    token = index.token("given_name", "Amal")
    assert token is not None
    assert len(token) == index.hex_length == 4
    assert int(token, 16) < 2**15
    assert token == BlindIndex(keyring, 100_000).token("given_name", "  AMAL ")
    assert index.token("given_name", "أحمد") == index.token("given_name", "احمد")
    assert index.token("given_name", "") is None
    assert index.token("given_name", "\u0640 ") is None
    # another field and another keyring use other keys
    names = [f"name {i}" for i in range(50)]
    given = [index.token("given_name", n) for n in names]
    assert given != [index.token("family_name", n) for n in names]
    other = BlindIndex(init_keyring(Settings(key_file=tmp_path / "other.json")), 100_000)
    assert given != [other.token("given_name", n) for n in names]


def test_truncation_really_makes_tokens_collide(keyring: Keyring) -> None:
    index = BlindIndex(keyring, 100)
    assert index.bits == 5
    tokens = {index.token("family_name", f"family {i}") for i in range(400)}
    # 400 values in 32 buckets: every bucket is hit, so no token points at one value only
    assert len(tokens) == 32
