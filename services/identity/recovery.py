"""Break-glass recovery for operators: a lost system administrator password.

Runs from the `haven` command on the server (database and keyring access), never over HTTP.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.identity import User
from services import audit
from services.actions import Action
from services.audit.enums import ActorType
from services.crypto.passwords import hash_password
from services.errors import Conflict, NotFound
from services.identity.rules import check_new_password, normalise_username
from services.identity.tokens import revoke_user_tokens


def operator_reset_password(
    session: Session, *, username: str, password: str, reactivate: bool = False
) -> User:
    """Set a temporary password the user must change at the next login; every token dies.

    A deactivated account is refused unless `reactivate` is given: someone switched it off on
    purpose (a coerced or departed member of staff), and a password reset must not quietly undo
    that. The audit detail says whether the account was reactivated."""
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound("No user with that username.")
    if not user.is_active and not reactivate:
        raise Conflict(
            "That account is deactivated; give --reactivate to reactivate it with the new password."
        )
    check_new_password(password)
    reactivated = not user.is_active
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.is_active = True
    revoked = revoke_user_tokens(session, user.id)
    session.flush()
    audit.record(
        session,
        audit.Actor(type=ActorType.SYSTEM),
        Action.USER_RESET_PASSWORD,
        resource_type="user",
        resource_id=user.id,
        fields=["password"],
        detail={
            "tokens_revoked": revoked,
            "by": "operator",
            "target_role": user.role,
            "reactivated": reactivated,
        },
    )
    return user
