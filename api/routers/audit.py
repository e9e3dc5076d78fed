"""Routes: the audit log (auditors) and a case's access log (the case's supervisor)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import KeyringDep, PrincipalDep, SessionDep, SettingsDep
from api.openapi import requires
from api.pagination import LimitQuery
from api.routing import TransactionalRoute
from api.schemas.audit import AuditEventList, AuditVerifyOut, SinceTime
from services.audit import queries
from services.cases.access_log import case_access_log as read_case_access_log
from services.kit.pages import DEFAULT_LIMIT
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: routes are built by this router, so `api_router`'s route_class alone does not
apply (each request's session, and so its audit event, must commit through it)."""

CursorQuery = Annotated[
    str | None,
    Query(
        max_length=32,
        description="`next_cursor` of the previous page (ASCII digits; anything else is 422).",
    ),
]


@router.get(
    "/audit/events",
    response_model=AuditEventList,
    summary="List audit events (auditor), oldest first, cursor on seq",
    openapi_extra=requires(Action.AUDIT_READ),
)
def list_audit_events(
    principal: PrincipalDep,
    session: SessionDep,
    case_id: Annotated[uuid.UUID | None, Query(description="Events about this case.")] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="Events by this user/client.")] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[a-z_]+(\.[a-z_]+)*$",
            description="A dotted action, e.g. `case.read`.",
        ),
    ] = None,
    since: Annotated[
        SinceTime | None,
        Query(description="Events at or after (RFC 3339; years 1900 to 2100)."),
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> AuditEventList:
    page = queries.list_events(
        session,
        principal,
        queries.EventFilters(case_id=case_id, actor_id=actor_id, action=action, since=since),
        limit=limit,
        cursor=cursor,
    )
    return AuditEventList.model_validate({"items": page.items, "next_cursor": page.next_cursor})


@router.get(
    "/audit/verify",
    response_model=AuditVerifyOut,
    summary="Verify the audit chain against the signed checkpoints (auditor)",
    openapi_extra=requires(Action.AUDIT_VERIFY),
)
def verify_audit_chain(
    principal: PrincipalDep, session: SessionDep, settings: SettingsDep, keyring: KeyringDep
) -> AuditVerifyOut:
    report = queries.verify_for(session, principal, settings, keyring)
    return AuditVerifyOut(
        valid=report.valid,
        events_checked=report.events_checked,
        first_invalid_seq=report.first_invalid_seq,
        reason=report.reason,
        checkpoints_checked=report.checkpoints_checked,
        warnings=report.warnings,
        malformed_checkpoint_lines=report.malformed_checkpoint_lines,
    )


@router.get(
    "/cases/{case_id}/access-log",
    response_model=AuditEventList,
    summary="Who read or changed this case (supervisor of the case's agency)",
    tags=["cases"],
    openapi_extra=requires(Action.CASE_ACCESS_LOG),
)
def case_access_log(
    case_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> AuditEventList:
    page = read_case_access_log(session, principal, case_id, limit=limit, cursor=cursor)
    return AuditEventList.model_validate({"items": page.items, "next_cursor": page.next_cursor})
