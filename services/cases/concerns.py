"""The protection concerns child-protection teams record, with English and Arabic labels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Concern:
    code: str
    label_en: str
    label_ar: str


CONCERNS: tuple[Concern, ...] = (
    Concern(
        "caafag", "Associated with armed forces or groups", "مرتبط بالقوات أو الجماعات المسلحة"
    ),
    Concern("separated_unaccompanied", "Separated or unaccompanied", "منفصل عن ذويه أو غير مصحوب"),
    Concern("physical_injury", "Physical injury", "إصابة جسدية"),
    Concern("disability", "Disability", "إعاقة"),
    Concern("psychosocial_distress", "Psychosocial distress", "ضائقة نفسية واجتماعية"),
    Concern("witnessed_violence", "Witnessed violence", "شاهد على العنف"),
    Concern("sexual_violence", "Sexual violence", "عنف جنسي"),
    Concern("physical_violence", "Physical violence", "عنف جسدي"),
    Concern("detention", "Detention", "احتجاز"),
    Concern("child_labour", "Child labour", "عمالة الأطفال"),
    Concern("child_marriage", "Child marriage", "زواج الأطفال"),
    Concern("trafficking", "Trafficking", "الاتجار بالأطفال"),
    Concern("neglect", "Neglect", "إهمال"),
    Concern("out_of_school", "Out of school", "خارج المدرسة"),
    Concern("lack_of_documentation", "Lack of documentation", "نقص الوثائق الثبوتية"),
    Concern("explosive_ordnance", "Explosive ordnance", "الذخائر المتفجرة"),
)

CONCERN_CODES: frozenset[str] = frozenset(c.code for c in CONCERNS)
