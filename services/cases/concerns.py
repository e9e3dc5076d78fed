"""The protection concerns child-protection teams record, with English and Arabic labels."""

from __future__ import annotations

from dataclasses import dataclass

from services.cases.enums import ConcernCode


@dataclass(frozen=True)
class Concern:
    code: ConcernCode
    label_en: str
    label_ar: str


CONCERNS: tuple[Concern, ...] = (
    Concern(
        ConcernCode.CAAFAG,
        "Associated with armed forces or groups",
        "مرتبط بالقوات أو الجماعات المسلحة",
    ),
    Concern(
        ConcernCode.SEPARATED_UNACCOMPANIED,
        "Separated or unaccompanied",
        "منفصل عن ذويه أو غير مصحوب",
    ),
    Concern(ConcernCode.PHYSICAL_INJURY, "Physical injury", "إصابة جسدية"),
    Concern(ConcernCode.DISABILITY, "Disability", "إعاقة"),
    Concern(ConcernCode.PSYCHOSOCIAL_DISTRESS, "Psychosocial distress", "ضائقة نفسية واجتماعية"),
    Concern(ConcernCode.WITNESSED_VIOLENCE, "Witnessed violence", "شاهد على العنف"),
    Concern(ConcernCode.SEXUAL_VIOLENCE, "Sexual violence", "عنف جنسي"),
    Concern(ConcernCode.PHYSICAL_VIOLENCE, "Physical violence", "عنف جسدي"),
    Concern(ConcernCode.DETENTION, "Detention", "احتجاز"),
    Concern(ConcernCode.CHILD_LABOUR, "Child labour", "عمالة الأطفال"),
    Concern(ConcernCode.CHILD_MARRIAGE, "Child marriage", "زواج الأطفال"),
    Concern(ConcernCode.TRAFFICKING, "Trafficking", "الاتجار بالأطفال"),
    Concern(ConcernCode.NEGLECT, "Neglect", "إهمال"),
    Concern(ConcernCode.OUT_OF_SCHOOL, "Out of school", "خارج المدرسة"),
    Concern(ConcernCode.LACK_OF_DOCUMENTATION, "Lack of documentation", "نقص الوثائق الثبوتية"),
    Concern(ConcernCode.EXPLOSIVE_ORDNANCE, "Explosive ordnance", "الذخائر المتفجرة"),
)

CONCERN_CODES: frozenset[str] = frozenset(ConcernCode)
