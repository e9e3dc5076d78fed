"""The value sets of casework, each defined once, and the need reference list with its labels.

Labels come in English, Arabic and Sorani Kurdish (`ckb`); the API picks one by Accept-Language.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.cases.labels import Labels
from services.casework.enums import (
    ActionStatus,
    Domain,
    Severity,
)

SEVERITY_RANK = {Severity.NONE: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


OPEN_ACTION_STATUSES = frozenset({ActionStatus.PLANNED, ActionStatus.IN_PROGRESS})
"""Actions that still schedule work (their due dates count towards the case's next action)."""


@dataclass(frozen=True)
class Need:
    code: str
    domain: Domain
    labels: Labels


def _need(code: str, domain: Domain, en: str, ar: str, ckb: str) -> Need:
    return Need(code, domain, Labels(en, ar, ckb))


D = Domain
NEEDS: tuple[Need, ...] = (
    _need("safety_plan", D.SAFETY, "Safety plan", "خطة سلامة", "پلانی سەلامەتی"),
    _need(
        "safe_accommodation",
        D.SAFETY,
        "Safe accommodation",
        "سكن آمن",
        "شوێنی نیشتەجێبوونی سەلامەت",
    ),
    _need(
        "protection_from_re_recruitment",
        D.SAFETY,
        "Protection from re-recruitment",
        "الحماية من إعادة التجنيد",
        "پاراستن لە دووبارە ڕاکێشانەوە بۆ گرووپە چەکدارەکان",
    ),
    _need("medical_care", D.HEALTH, "Medical care", "رعاية طبية", "چاودێری پزیشکی"),
    _need("nutrition", D.HEALTH, "Nutrition", "التغذية", "خۆراکی تەندروست"),
    _need(
        "physical_rehabilitation",
        D.DISABILITY,
        "Physical rehabilitation",
        "إعادة تأهيل بدني",
        "نۆژەنکردنەوەی جەستەیی",
    ),
    _need(
        "prosthesis",
        D.DISABILITY,
        "Prosthesis or orthosis",
        "طرف صناعي أو جهاز تقويمي",
        "ئەندامی دەستکرد یان ئامێری ڕاستکردنەوە",
    ),
    _need("assistive_device", D.DISABILITY, "Assistive device", "جهاز مساعد", "ئامێری یارمەتیدەر"),
    _need(
        "psychosocial_support",
        D.PSYCHOSOCIAL,
        "Psychosocial support",
        "دعم نفسي اجتماعي",
        "پاڵپشتی دەروونی و کۆمەڵایەتی",
    ),
    _need(
        "specialised_mental_health",
        D.PSYCHOSOCIAL,
        "Specialised mental health care",
        "رعاية صحة نفسية متخصصة",
        "چاودێری تایبەتی تەندروستی دەروونی",
    ),
    _need(
        "education_catch_up",
        D.EDUCATION,
        "Education catch-up",
        "تعليم تعويضي",
        "پەروەردەی قەرەبووکردنەوە",
    ),
    _need(
        "school_enrolment",
        D.EDUCATION,
        "School enrolment",
        "التسجيل في المدرسة",
        "ناونووسین لە قوتابخانە",
    ),
    _need(
        "vocational_training", D.EDUCATION, "Vocational training", "تدريب مهني", "ڕاهێنانی پیشەیی"
    ),
    _need("family_tracing", D.FAMILY_CARE, "Family tracing", "تتبع الأسرة", "بەدواداگەڕانی خێزان"),
    _need(
        "family_reunification",
        D.FAMILY_CARE,
        "Family reunification",
        "لم شمل الأسرة",
        "یەکخستنەوەی خێزان",
    ),
    _need("alternative_care", D.FAMILY_CARE, "Alternative care", "رعاية بديلة", "چاودێری جێگرەوە"),
    _need(
        "caregiver_support",
        D.FAMILY_CARE,
        "Support to caregivers",
        "دعم مقدمي الرعاية",
        "پاڵپشتی چاودێرانی منداڵ",
    ),
    _need(
        "civil_documentation",
        D.DOCUMENTATION_LEGAL,
        "Civil documentation",
        "وثائق مدنية",
        "بەڵگەنامەی مەدەنی",
    ),
    _need("legal_aid", D.DOCUMENTATION_LEGAL, "Legal aid", "مساعدة قانونية", "یارمەتی یاسایی"),
    _need(
        "release_and_reintegration",
        D.ARMED_GROUP_ASSOCIATION,
        "Release and reintegration",
        "التسريح وإعادة الإدماج",
        "ئازادکردن و تێکەڵکردنەوە",
    ),
    _need(
        "community_acceptance",
        D.ARMED_GROUP_ASSOCIATION,
        "Community acceptance",
        "قبول المجتمع",
        "قبووڵکردن لەلایەن کۆمەڵگاوە",
    ),
    _need("shelter", D.BASIC_NEEDS, "Shelter", "مأوى", "پەناگە"),
    _need(
        "food_and_household_items",
        D.BASIC_NEEDS,
        "Food and household items",
        "الغذاء والمواد المنزلية",
        "خۆراک و پێداویستییەکانی ماڵ",
    ),
    _need(
        "livelihood_support",
        D.BASIC_NEEDS,
        "Livelihood support for the family",
        "دعم سبل عيش الأسرة",
        "پاڵپشتی بژێوی خێزان",
    ),
)

NEED_CODES: frozenset[str] = frozenset(need.code for need in NEEDS)

SERVICE_LABELS: dict[str, Labels] = {
    "mhpss": Labels(
        "Mental health and psychosocial support",
        "الصحة النفسية والدعم النفسي الاجتماعي",
        "تەندروستی دەروونی و پاڵپشتی دەروونی و کۆمەڵایەتی",
    ),
    "medical": Labels("Medical care", "الرعاية الطبية", "چاودێری پزیشکی"),
    "rehabilitation": Labels(
        "Physical rehabilitation and prosthetics",
        "إعادة التأهيل البدني والأطراف الصناعية",
        "نۆژەنکردنەوەی جەستەیی و ئەندامی دەستکرد",
    ),
    "education": Labels("Education", "التعليم", "پەروەردە و فێرکردن"),
    "family_tracing": Labels(
        "Family tracing and reunification",
        "تتبع الأسر ولمّ شملها",
        "بەدواداگەڕانی خێزان و یەکخستنەوە",
    ),
    "alternative_care": Labels("Alternative care", "الرعاية البديلة", "چاودێری جێگرەوە"),
    "legal_aid": Labels("Legal aid", "المساعدة القانونية", "یارمەتی یاسایی"),
    "documentation": Labels("Civil documentation", "الوثائق المدنية", "بەڵگەنامەی مەدەنی"),
    "reintegration": Labels("Reintegration", "إعادة الإدماج", "تێکەڵکردنەوە لە کۆمەڵگا"),
    "livelihoods": Labels("Livelihoods", "سبل العيش", "بژێوی"),
    "shelter": Labels("Shelter", "المأوى", "پەناگە"),
    "gbv_response": Labels(
        "Gender-based violence response",
        "الاستجابة للعنف القائم على النوع الاجتماعي",
        "وەڵامدانەوەی توندوتیژی لەسەر بنەمای ڕەگەز",
    ),
}
"""Labels of the referral service types (the codes themselves are the referrals' list)."""
