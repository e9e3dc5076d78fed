"""Why a case was closed: the closure reason codes (`other` needs a note), with their labels."""

from __future__ import annotations

from services.cases.enums import ClosureReason
from services.cases.labels import Labels

NOTE_REQUIRED = frozenset({ClosureReason.OTHER})
"""Reasons that say nothing by themselves: the supervisor must write why."""

CLOSURE_REASON_LABELS: dict[ClosureReason, Labels] = {
    ClosureReason.GOALS_MET: Labels(
        "Case plan goals met", "تحققت أهداف خطة الحالة", "ئامانجەکانی پلانی کەیس بەدیهاتن"
    ),
    ClosureReason.REACHED_ADULTHOOD: Labels(
        "Reached adulthood", "بلغ سن الرشد", "گەیشتە تەمەنی پێگەیشتن"
    ),
    ClosureReason.TRANSFERRED: Labels(
        "Transferred to another agency",
        "نُقلت الحالة إلى جهة أخرى",
        "کەیسەکە گوازرایەوە بۆ دامەزراوەیەکی تر",
    ),
    ClosureReason.MOVED_AWAY: Labels(
        "Moved away", "انتقل إلى مكان آخر", "گواستییەوە بۆ شوێنێکی تر"
    ),
    ClosureReason.LOST_CONTACT: Labels("Lost contact", "انقطع التواصل", "پەیوەندی پچڕا"),
    ClosureReason.DEATH: Labels("Death of the child", "وفاة الطفل", "کۆچی دوایی منداڵ"),
    ClosureReason.DUPLICATE: Labels("Duplicate case", "حالة مكررة", "کەیسی دووبارە"),
    ClosureReason.OTHER: Labels(
        "Other (a note is required)", "أخرى (تتطلب ملاحظة)", "هی تر (تێبینی پێویستە)"
    ),
}
