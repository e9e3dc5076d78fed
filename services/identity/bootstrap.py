"""`haven bootstrap`: the first agency and system administrator of an empty database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.identity import Agency, User
from services import audit
from services.actions import Action
from services.crypto.passwords import hash_password
from services.errors import Conflict, InvalidInput
from services.identity.enums import Role
from services.identity.rules import check_new_password, normalise_username

SYSTEM_AGENCY_NAME = "System"


def has_users(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)))


def bootstrap(session: Session, *, username: str, password: str) -> User:
    """Create the "System" agency and a `system_admin`; refuse when any user exists."""
    if has_users(session):
        raise Conflict("Users already exist; bootstrap only runs on an empty database.")
    name = normalise_username(username)
    if not name:
        raise InvalidInput.field(("username",), "must not be empty")
    check_new_password(password)
    agency = session.scalar(select(Agency).where(Agency.name == SYSTEM_AGENCY_NAME))
    if agency is None:
        agency = Agency(name=SYSTEM_AGENCY_NAME)
        session.add(agency)
        session.flush()
    user = User(
        username=name,
        password_hash=hash_password(password),
        role=Role.SYSTEM_ADMIN.value,
        agency_id=agency.id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        audit.anonymous(),
        Action.USER_BOOTSTRAP,
        resource_type="user",
        resource_id=user.id,
        detail={"role": user.role},
    )
    return user
