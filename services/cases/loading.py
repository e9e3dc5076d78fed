"""Decrypting cases for responses: one case, or a page of cases with one batched key unwrap."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from models.cases import Case
from services.cases.access import case_data_key
from services.cases.content import decrypt_document
from services.cases.views import CaseView
from services.crypto import Keyring, load_data_keys


def view_of(session: Session, keyring: Keyring, case: Case) -> CaseView:
    return CaseView(
        case=case, document=decrypt_document(case_data_key(session, keyring, case), case)
    )


def views_of(session: Session, keyring: Keyring, cases: Sequence[Case]) -> list[CaseView]:
    """Decrypt many cases; their data keys are fetched and unwrapped in one query."""
    keys = load_data_keys(session, keyring, [case.data_key_id for case in cases])
    return [
        CaseView(case=case, document=decrypt_document(keys[case.data_key_id], case))
        for case in cases
    ]
