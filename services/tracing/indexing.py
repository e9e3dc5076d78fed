"""Keeping a case's tracing tokens current, and matching it against open tracing requests.

Named in `services.cases.listeners`, so a case registered or whose child changed is
re-tokenised and matched in the same transaction as the write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from models.cases import Case
from services.config import Settings
from services.crypto import Keyring
from services.tracing.matching import match_case
from services.tracing.tokens import case_parts, tokenizer, write_case_tokens


def index_case(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    case: Case,
    document: Mapping[str, Any],
    new: bool,
) -> None:
    tokens = tokenizer(keyring, settings.planned_case_count).tokens(case_parts(document))
    write_case_tokens(session, tokens, case.id, replace=not new)
    match_case(session, keyring, settings, case, document, tokens, new=new)
