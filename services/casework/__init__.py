"""Casework: the records of the work done for a child (assessments, the case plan, services
delivered, follow-ups), the due dates they drive, the case timeline and the caseload view.

Every record is reached through its case: `services.cases.access.load_visible_case` (one
visibility rule, `policy.case_filter`) decides who sees it, so a case the caller may not see has
no visible assessments, plan, services or follow-ups either (404), and partners, who never see a
case, never see them (403). Content is sealed under the case's data key (`cases/records.py`).
"""
