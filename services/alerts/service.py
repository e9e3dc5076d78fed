"""Bulk-read detection and the alerts it raises (`GET /alerts`, `POST /alerts/{id}/clear`).

Detection is cheap by design: every open of a record the reader does not own upserts one row of
`read_tracks` (actor, record, last read), so "how many distinct records in the last hour" is a
count over one index, never a scan of the audit chain. Passing the limit raises one alert per
actor per hour (not one per read past it): an `alerts` row and an `alert.bulk_read` audit event
in the reader's own request. With `HAVEN_BULK_READ_SUSPEND=true` the alert also suspends the
reader: every request it makes is refused (403) until a supervisor of its agency clears the
alert, with a note, saying what was found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models.access import Alert, ReadTrack
from models.base import utcnow
from services import audit
from services.actions import Action
from services.alerts.enums import AlertKind, SubjectType
from services.config import Settings
from services.crypto import Keyring, open_sealed, seal
from services.errors import Conflict, Forbidden, NotFound
from services.identity.enums import PrincipalKind
from services.kit.cursor import Keyset, SortKey
from services.kit.pages import DEFAULT_LIMIT, Page, check_limit
from services.policy import Principal, Role, require

WINDOW = timedelta(hours=1)
SEAL_PURPOSE = "oversight"
RECENT = Keyset(
    "alerts",
    (
        SortKey(Alert.raised_at, datetime, descending=True),
        SortKey(Alert.id, uuid.UUID, descending=True),
    ),
)


@dataclass(frozen=True)
class AlertView:
    id: uuid.UUID
    kind: str
    actor_type: str
    actor_id: uuid.UUID
    agency_id: uuid.UUID
    raised_at: datetime
    distinct_reads: int
    read_limit: int
    suspends: bool
    cleared_at: datetime | None
    cleared_by: uuid.UUID | None
    clear_note: str | None


def _aad(alert_id: uuid.UUID) -> bytes:
    return f"alerts:{alert_id}:clear_note".encode("ascii")


def _view(keyring: Keyring, alert: Alert) -> AlertView:
    note = (
        open_sealed(
            keyring.system_key(SEAL_PURPOSE), alert.clear_note_sealed, _aad(alert.id)
        ).decode("utf-8")
        if alert.clear_note_sealed is not None
        else None
    )
    return AlertView(
        id=alert.id,
        kind=alert.kind,
        actor_type=alert.actor_type,
        actor_id=alert.actor_id,
        agency_id=alert.agency_id,
        raised_at=alert.raised_at,
        distinct_reads=alert.distinct_reads,
        read_limit=alert.read_limit,
        suspends=alert.suspends,
        cleared_at=alert.cleared_at,
        cleared_by=alert.cleared_by,
        clear_note=note,
    )


def _touch(
    session: Session, actor_id: uuid.UUID, subject: SubjectType, subject_id: uuid.UUID
) -> None:
    """Upsert the (actor, record) row with the time of this read, in one statement (two
    concurrent first reads of one record must not collide)."""
    values = {
        "actor_id": actor_id,
        "subject_type": subject.value,
        "subject_id": subject_id,
        "read_at": utcnow(),
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ReadTrack).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["actor_id", "subject_type", "subject_id"],
            set_={"read_at": statement.excluded.read_at},
        )
    )


def note_read(
    session: Session,
    settings: Settings,
    principal: Principal,
    subject: SubjectType,
    subject_id: uuid.UUID,
) -> None:
    """Record that `principal` opened a record it does not own; raise an alert when that makes
    more distinct records within the hour than the limit (once per hour per actor)."""
    _touch(session, principal.id, subject, subject_id)
    now = utcnow()
    since = now - WINDOW
    distinct = (
        session.scalar(
            select(func.count()).where(
                ReadTrack.actor_id == principal.id,
                ReadTrack.subject_type == subject.value,
                ReadTrack.read_at > since,
            )
        )
        or 0
    )
    limit = settings.bulk_read_client_limit if principal.is_client else settings.bulk_read_limit
    if distinct <= limit:
        return
    raised = session.scalar(
        select(Alert.id).where(Alert.actor_id == principal.id, Alert.raised_at > since).limit(1)
    )
    if raised is not None:
        return
    alert = Alert(
        id=uuid.uuid4(),
        kind=AlertKind.BULK_READ.value,
        actor_type=(PrincipalKind.CLIENT if principal.is_client else PrincipalKind.USER).value,
        actor_id=principal.id,
        agency_id=principal.agency_id,
        raised_at=now,
        distinct_reads=distinct,
        read_limit=limit,
        suspends=settings.bulk_read_suspend,
    )
    session.add(alert)
    session.flush()
    audit.record(
        session,
        principal,
        Action.ALERT_BULK_READ,
        resource_type="alert",
        resource_id=alert.id,
        detail={
            "subject_type": subject.value,
            "distinct_reads": distinct,
            "limit": limit,
            "suspends": alert.suspends,
        },
    )


def check_not_suspended(session: Session, settings: Settings, principal: Principal) -> None:
    """Refuse every request of a reader an uncleared suspending alert names (only looked up
    while suspension is switched on, so it costs nothing otherwise)."""
    if not settings.bulk_read_suspend:
        return
    suspended = session.scalar(
        select(Alert.id)
        .where(
            Alert.actor_id == principal.id,
            Alert.suspends.is_(True),
            Alert.cleared_at.is_(None),
        )
        .limit(1)
    )
    if suspended is not None:
        raise Forbidden(
            "Your access is suspended after a bulk-read alert until a supervisor of your "
            "agency clears it.",
            action=Action.ACCESS_DENIED,
            resource_type="alert",
            resource_id=suspended,
        )


def _scope(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.AUDITOR:
        return true()
    scoped: ColumnElement[bool] = Alert.agency_id == principal.agency_id
    return scoped


def list_alerts(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    *,
    cleared: bool | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AlertView]:
    require(principal, Action.ALERT_LIST)
    limit = check_limit(limit)
    statement = select(Alert).where(_scope(principal))
    if cleared is not None:
        statement = statement.where(
            Alert.cleared_at.is_not(None) if cleared else Alert.cleared_at.is_(None)
        )
    rows = (
        session.execute(RECENT.select_page(statement, cursor=cursor, limit=limit)).scalars().all()
    )
    page = RECENT.split(rows, limit, lambda alert: (alert.raised_at, alert.id))
    items = [_view(keyring, alert) for alert in page.items]
    audit.record(
        session,
        principal,
        Action.ALERT_LIST,
        resource_type="alert",
        detail={"count": len(items), "cleared": cleared},
    )
    return Page(items=items, next_cursor=page.next_cursor)


def clear_alert(
    session: Session, keyring: Keyring, principal: Principal, alert_id: uuid.UUID, note: str
) -> AlertView:
    """A supervisor of the alert's agency or an auditor (any agency) clears it, lifting a
    suspension; never the reader itself."""
    action = Action.ALERT_CLEAR
    require(principal, action)
    query = select(Alert).where(Alert.id == alert_id)
    if principal.role != Role.AUDITOR:
        query = query.where(Alert.agency_id == principal.agency_id)
    alert = session.execute(query.with_for_update()).scalar_one_or_none()
    if alert is None:
        raise NotFound(
            "No alert with that id.", action=action, resource_type="alert", resource_id=alert_id
        )
    if alert.actor_id == principal.id:
        raise Forbidden(
            "An alert about you is cleared by another supervisor.",
            action=action,
            resource_type="alert",
            resource_id=alert.id,
        )
    if alert.cleared_at is not None:
        raise Conflict("This alert has already been cleared.")
    alert.cleared_at = utcnow()
    alert.cleared_by = principal.id
    alert.clear_note_sealed = seal(
        keyring.system_key(SEAL_PURPOSE), note.encode("utf-8"), _aad(alert.id)
    )
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="alert",
        resource_id=alert.id,
        detail={"actor_id": str(alert.actor_id), "lifted_suspension": alert.suspends},
    )
    return _view(keyring, alert)
