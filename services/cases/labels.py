"""Labels of reference codes in the languages Haven's users read: English, Arabic, Sorani."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Language(StrEnum):
    EN = "en"
    AR = "ar"
    CKB = "ckb"


@dataclass(frozen=True)
class Labels:
    en: str
    ar: str
    ckb: str

    def in_language(self, language: Language) -> str:
        return str(getattr(self, language.value))
