"""The protection-concern reference list, with English, Arabic and Sorani Kurdish labels."""

from __future__ import annotations

from dataclasses import dataclass

from services.cases.enums import ConcernCode
from services.cases.labels import Labels


@dataclass(frozen=True)
class Concern:
    code: ConcernCode
    label_en: str
    label_ar: str
    label_ckb: str

    @property
    def labels(self) -> Labels:
        return Labels(self.label_en, self.label_ar, self.label_ckb)


CONCERNS: tuple[Concern, ...] = (
    Concern(
        ConcernCode.CAAFAG,
        "Associated with armed forces or groups",
        "مرتبط بالقوات أو الجماعات المسلحة",
        "پەیوەست بە هێز یان گرووپە چەکدارەکانەوە",
    ),
    Concern(
        ConcernCode.SEPARATED_UNACCOMPANIED,
        "Separated or unaccompanied",
        "منفصل عن ذويه أو غير مصحوب",
        "جیابووەوە لە خێزان یان بێ سەرپەرشتیار",
    ),
    Concern(ConcernCode.PHYSICAL_INJURY, "Physical injury", "إصابة جسدية", "برینداری جەستەیی"),
    Concern(ConcernCode.DISABILITY, "Disability", "إعاقة", "کەمئەندامی"),
    Concern(
        ConcernCode.PSYCHOSOCIAL_DISTRESS,
        "Psychosocial distress",
        "ضائقة نفسية واجتماعية",
        "ناڕەحەتی دەروونی و کۆمەڵایەتی",
    ),
    Concern(
        ConcernCode.WITNESSED_VIOLENCE, "Witnessed violence", "شاهد على العنف", "شایەتی توندوتیژی"
    ),
    Concern(ConcernCode.SEXUAL_VIOLENCE, "Sexual violence", "عنف جنسي", "توندوتیژی سێکسی"),
    Concern(ConcernCode.PHYSICAL_VIOLENCE, "Physical violence", "عنف جسدي", "توندوتیژی جەستەیی"),
    Concern(ConcernCode.DETENTION, "Detention", "احتجاز", "دەستبەسەرکردن"),
    Concern(ConcernCode.CHILD_LABOUR, "Child labour", "عمالة الأطفال", "کارپێکردنی منداڵان"),
    Concern(ConcernCode.CHILD_MARRIAGE, "Child marriage", "زواج الأطفال", "هاوسەرگیری منداڵان"),
    Concern(ConcernCode.TRAFFICKING, "Trafficking", "الاتجار بالأطفال", "بازرگانی بە منداڵانەوە"),
    Concern(ConcernCode.NEGLECT, "Neglect", "إهمال", "پشتگوێخستن"),
    Concern(ConcernCode.OUT_OF_SCHOOL, "Out of school", "خارج المدرسة", "دابڕاو لە قوتابخانە"),
    Concern(
        ConcernCode.LACK_OF_DOCUMENTATION,
        "Lack of documentation",
        "نقص الوثائق الثبوتية",
        "نەبوونی بەڵگەنامەی فەرمی",
    ),
    Concern(
        ConcernCode.EXPLOSIVE_ORDNANCE,
        "Explosive ordnance",
        "الذخائر المتفجرة",
        "تەقەمەنییە تەقینەوەییەکان",
    ),
)

CONCERN_CODES: frozenset[str] = frozenset(ConcernCode)
