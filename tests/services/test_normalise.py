# ruff: noqa: RUF001  (Arabic-script test data is intentional)
"""Search normalisation: properties and the Latin, Arabic and Kurdish variants."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.crypto import decrypt_field, encrypt_field, new_data_key, normalise
from services.crypto.normalise import _FOLD, _fold_char, _FoldTable

arabic_text = st.text(
    alphabet=st.characters(min_codepoint=0x0600, max_codepoint=0x06FF) | st.sampled_from(" a"),
    max_size=30,
)


@settings(max_examples=300)
@given(st.text(max_size=40) | arabic_text)
def test_idempotent(value: str) -> None:
    once = normalise(value)
    assert normalise(once) == once


@settings(max_examples=200)
@given(st.text(max_size=40) | arabic_text)
def test_output_is_trimmed_single_spaced_nfkc_and_free_of_marks(value: str) -> None:
    out = normalise(value)
    assert out == out.strip()
    assert "  " not in out
    assert not any(ch.isspace() and ch != " " for ch in out)
    assert unicodedata.normalize("NFKC", out) == out
    assert "\u0640" not in out
    assert not any(0x064B <= ord(ch) <= 0x065F or ord(ch) == 0x0670 for ch in out)
    assert not any(ch in "أإآٱىةکیەؤئ" for ch in out)


@settings(max_examples=100)
@given(st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=12))
def test_latin_case_and_spacing(word: str) -> None:
    assert normalise(f"  {word.upper()} \t {word.title()}\n") == f"{word} {word}"


@pytest.mark.parametrize(
    ("variants", "canonical"),
    [
        (["Amal Haddad", "  AMAL   haddad ", "amal\u00a0Haddad", "Ａｍａｌ Haddad"], "amal haddad"),
        (["Straße", "STRASSE"], "strasse"),
        (["José"], "josé"),  # Latin accents are kept (documented)
        (["Jose\u0301"], "josé"),  # decomposed e + combining acute composes (NFKC)
        # harakat and tatweel
        (["مُحَمَّد", "محمد", "مـحـمـد", "مُـحَـمَّـد"], "محمد"),
        # alef forms
        (["أحمد", "إحمد", "آحمد", "ٱحمد", "احمد", "أَحْمَد"], "احمد"),
        (["إسراء", "اسراء"], "اسراء"),
        # ya / alef maqsura
        (["مصطفى", "مصطفي"], "مصطفي"),
        (["هدى", "هدي"], "هدي"),
        # ta marbuta
        (["فاطمة", "فاطمه"], "فاطمه"),
        (["عائشة", "عايشه", "عائشه"], "عايشه"),
        # hamza carriers
        (["رؤى", "روي"], "روي"),
        # Kurdish and Persian keyboard forms
        (["کوردستان", "كوردستان"], "كوردستان"),
        (["کاوە", "كاوه", "کاوه"], "كاوه"),
        (["شیلان", "شيلان"], "شيلان"),
        (["ھێمن", "هێمن"], "هێمن"),
        # Arabic presentation forms (copied from old PDFs)
        (["ﻣﺤﻤﺪ", "محمد"], "محمد"),
        # invisible characters
        (["فا\u200cطمه", "\u200fفاطمه\u200e"], "فاطمه"),
        # digits of any script
        (["٠٧٥٠ ١٢٣ ٤٥٦٧", "۰۷۵۰ ۱۲۳ ۴۵۶۷", "0750 123 4567"], "0750 123 4567"),
    ],
)
def test_variants_fold_to_one_canonical_form(variants: list[str], canonical: str) -> None:
    for variant in variants:
        assert normalise(variant) == canonical, variant


def test_distinct_kurdish_letters_stay_distinct() -> None:
    # ڵ (lam with v) and ل, ێ and ي, ۆ and و are different sounds: not folded
    assert normalise("ڵ") != normalise("ل")
    assert normalise("ێ") != normalise("ي")
    assert normalise("ۆ") != normalise("و")
    assert normalise("Amal") != normalise("Amel")


def test_empty_and_blank_values() -> None:
    assert normalise("") == ""
    assert normalise(" \t\u200b\u0640 ") == ""


@pytest.mark.parametrize(
    "name",
    ["Amal Haddad", "مُحَمَّد عَبْدُ الله", "فاطمة الزهراء", "کاوە ئەحمەد", "ھێمن ڕەشید"],
)
def test_names_round_trip_unchanged_through_encryption(name: str) -> None:
    key = new_data_key()
    record = uuid.uuid4()
    blob = encrypt_field(key, name.encode(), table="cases", record_id=record, field="name")
    assert name.encode() not in blob
    assert decrypt_field(key, blob, table="cases", record_id=record, field="name").decode() == name


# The fast path (`str.translate` over a lazily filled table) against the reference fold, one
# `_fold_char` call per character: Latin, Arabic, presentation forms, format characters, digits
# of every script, spaces, and anything else hypothesis picks.
fold_sensitive_text = st.text(
    alphabet=st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
    | st.characters(min_codepoint=0xFB50, max_codepoint=0xFDFF)
    | st.characters(min_codepoint=0xFE70, max_codepoint=0xFEFF)
    | st.characters(categories=("Cf", "Nd", "Zs", "Zl", "Zp", "Cc", "Mn"))
    | st.sampled_from(" aAß\u0301"),
    max_size=40,
)


def _reference_once(value: str) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    folded = "".join(_fold_char(char) for char in folded)
    folded = unicodedata.normalize("NFKC", folded)
    return " ".join(folded.split())


def _reference_normalise(value: str) -> str:
    result = _reference_once(value)
    for _ in range(3):
        again = _reference_once(result)
        if again == result:
            return result
        result = again
    return result


@settings(max_examples=300)
@given(st.text(max_size=40) | fold_sensitive_text)
def test_fast_fold_equals_the_reference_fold(value: str) -> None:
    assert value.translate(_FOLD) == "".join(_fold_char(char) for char in value)
    assert normalise(value) == _reference_normalise(value)


@settings(max_examples=100)
@given(fold_sensitive_text)
def test_a_full_fold_table_still_folds_every_character(value: str) -> None:
    full = _FoldTable(limit=2)  # keeps two code points, folds the rest without caching them
    assert value.translate(full) == "".join(_fold_char(char) for char in value)
    assert len(full) <= 2
