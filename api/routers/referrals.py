"""Routes: referrals (proposal, supervisor review, the partner's work, cancellation)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import (
    IdempotencyKeyHeader,
    IfMatchHeader,
    KeyringDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
)
from api.openapi import requires
from api.pagination import CursorQuery, LimitQuery
from api.problems import PROBLEM_MEDIA_TYPE, Problem
from api.routing import TransactionalRoute
from api.schemas.referrals import (
    CancelIn,
    NoteIn,
    OutcomeIn,
    PartnerReferral,
    ReasonIn,
    ReferralCreate,
    ReferralList,
    ReferralOut,
    StaffReferral,
)
from services.actions import Action
from services.casework.referral_outcome import complete_referral as record_outcome
from services.kit.pages import DEFAULT_LIMIT
from services.kit.versions import etag
from services.referrals import service as referrals
from services.referrals.enums import ReferralStatus, ServiceType
from services.referrals.views import ReferralView, StaffReferralView

router = APIRouter(route_class=TransactionalRoute)
"""Set here too: routes are built by this router, so `api_router`'s route_class alone does not
reach them (FastAPI >= 0.16x includes routers lazily); without it nothing would commit."""

StatusQuery = Annotated[
    ReferralStatus | None,
    Query(
        description="Only this state. `pending_approval` is the supervisor's review queue: "
        "most urgent first, oldest first within one urgency."
    ),
]
OverdueQuery = Annotated[
    bool | None,
    Query(description="`true`: sent but not accepted or declined in time (oldest due first)."),
]
ServiceQuery = Annotated[ServiceType | None, Query(description="Only this service type.")]

_ACTION_DOC = (
    ' Optional `If-Match: "<version>"` (the `ETag` you read): the action applies only to that'
    ' version; if the referral moved on it is 409 with the detail "The referral changed since'
    ' version N; read it again", and nothing changes (unlike `PATCH /cases/{id}`, whose stale'
    " `If-Match` is 412). An `If-Match` that is not one version of at most 9 ASCII digits is"
    " 422 naming `If-Match`. Answers 200 with the updated referral; an action the state does"
    " not allow is 409 and changes nothing. `allowed_actions` in the referral you read lists"
    " exactly the actions you may take now."
)
_PARTNER_DOC = (
    " Once the referring agency closes the case, its live referrals are cancelled (reason"
    " `case_closed`) and any partner action on them is 409."
)
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
        "description": "The referral's state does not allow this action, it changed since the "
        "version in If-Match (read it again), or its case has been closed; nothing was changed",
    }
}


def _schema(view: ReferralView) -> StaffReferral | PartnerReferral:
    if isinstance(view, StaffReferralView):
        return StaffReferral.model_validate(view)
    return PartnerReferral.model_validate(view)


def _etag(response: Response, view: ReferralView) -> None:
    response.headers["ETag"] = etag(view.version)


def _version(if_match: str | None) -> int | None:
    return referrals.REFERRAL_VERSIONS.parse_if_match(if_match, required=False)


def _query(
    status: str | None,
    overdue: bool | None,
    service_type: str | None,
    limit: int,
    cursor: str | None,
) -> referrals.ReferralQuery:
    return referrals.ReferralQuery(
        status=status, overdue=overdue, service_type=service_type, limit=limit, cursor=cursor
    )


def _page(page: referrals.ReferralPage) -> ReferralList:
    return ReferralList(items=[_schema(v) for v in page.items], next_cursor=page.next_cursor)


@router.post(
    "/cases/{case_id}/referrals",
    status_code=201,
    response_model=StaffReferral,
    summary="Propose a referral of a case (caseworker); it awaits a supervisor's approval",
    description="`consent` is required; `best_interest_override` needs `consent.note` (the "
    "justification the approving supervisor sees). `shared_fields` are case-body paths "
    "(`child.given_name`, `location.district`, `protection_concerns`, ...): the partner sees "
    "those and nothing else of the case. Honours `Idempotency-Key` (a replay answers 200 with "
    "the referral made first).",
    responses={200: {"model": StaffReferral, "description": "Idempotent replay"}},
    openapi_extra=requires(Action.REFERRAL_CREATE),
)
def create_referral(
    case_id: uuid.UUID,
    body: ReferralCreate,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> StaffReferral | PartnerReferral:
    result = referrals.create_referral(
        session,
        keyring,
        principal,
        case_id,
        referrals.NewReferral(
            to_agency_id=body.to_agency_id,
            service_type=body.service_type,
            urgency=body.urgency,
            reason=body.reason,
            shared_fields=list(body.shared_fields),
            consent_given_by=body.consent.given_by,
            consent_obtained_at=body.consent.obtained_at,
            consent_note=body.consent.note,
        ),
        idempotency_key=idempotency_key,
    )
    if not result.created:
        response.status_code = 200
    _etag(response, result.referral)
    return _schema(result.referral)


@router.get(
    "/cases/{case_id}/referrals",
    response_model=ReferralList,
    summary="List a case's referrals (staff who may see the case), newest first",
    openapi_extra=requires(Action.REFERRAL_LIST, partners=False),
)
def list_case_referrals(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    status: StatusQuery = None,
    overdue: OverdueQuery = None,
    service_type: ServiceQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ReferralList:
    page = referrals.list_case_referrals(
        session, keyring, principal, case_id, _query(status, overdue, service_type, limit, cursor)
    )
    return _page(page)


@router.get(
    "/referrals",
    response_model=ReferralList,
    summary="List referrals: staff see their cases' referrals, a partner those sent to it",
    description="A partner client (`referrals:read`) sees referrals addressed to its agency once "
    "sent (`view: partner`): of the case only the `shared_fields`, and only while `sent`, "
    "`accepted` or `in_progress` and the case is open (closing a case cancels its live "
    "referrals, reason `case_closed`). Supervisors review `?status=pending_approval` and chase "
    "`?overdue=true`.",
    openapi_extra=requires(Action.REFERRAL_LIST),
)
def list_referrals(
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    status: StatusQuery = None,
    overdue: OverdueQuery = None,
    service_type: ServiceQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ReferralList:
    page = referrals.list_referrals(
        session, keyring, principal, _query(status, overdue, service_type, limit, cursor)
    )
    return _page(page)


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralOut,
    summary="Read one referral (staff: whole; partner: minimised)",
    description="A partner sees the shared case fields only while the referral is live and "
    "its case open. `allowed_actions` lists the actions you (this caller, with your role or "
    "scopes) may take now.",
    openapi_extra=requires(Action.REFERRAL_READ),
)
def get_referral(
    referral_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> StaffReferral | PartnerReferral:
    view = referrals.get_referral(session, keyring, principal, referral_id, settings)
    _etag(response, view)
    return _schema(view)


def _act(
    referral_id: uuid.UUID,
    action: Action,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: str | None,
    text: str | None = None,
) -> StaffReferral | PartnerReferral:
    view = referrals.act(
        session,
        keyring,
        settings,
        principal,
        referral_id,
        action,
        text=text,
        if_match=_version(if_match),
    )
    _etag(response, view)
    return _schema(view)


@router.post(
    "/referrals/{referral_id}/approve",
    responses=_CONFLICT,
    response_model=StaffReferral,
    summary="Approve a referral (supervisor of the referring agency): it is sent to the partner",
    description="`pending_approval → sent`. Starts the partner's response clock." + _ACTION_DOC,
    openapi_extra=requires(Action.REFERRAL_APPROVE),
)
def approve_referral(
    referral_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> StaffReferral | PartnerReferral:
    return _act(
        referral_id,
        Action.REFERRAL_APPROVE,
        response,
        session,
        keyring,
        settings,
        principal,
        if_match,
    )


@router.post(
    "/referrals/{referral_id}/reject",
    responses=_CONFLICT,
    response_model=StaffReferral,
    summary="Reject a referral with a reason (supervisor of the referring agency)",
    description="`pending_approval → rejected`." + _ACTION_DOC,
    openapi_extra=requires(Action.REFERRAL_REJECT),
)
def reject_referral(
    referral_id: uuid.UUID,
    body: ReasonIn,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> StaffReferral | PartnerReferral:
    return _act(
        referral_id,
        Action.REFERRAL_REJECT,
        response,
        session,
        keyring,
        settings,
        principal,
        if_match,
        body.reason,
    )


@router.post(
    "/referrals/{referral_id}/accept",
    responses=_CONFLICT,
    response_model=PartnerReferral,
    summary="Accept a referral (the receiving agency's client, `referrals:respond`)",
    description="`sent → accepted`." + _ACTION_DOC + _PARTNER_DOC,
    openapi_extra=requires(Action.REFERRAL_ACCEPT),
)
def accept_referral(
    referral_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> StaffReferral | PartnerReferral:
    return _act(
        referral_id,
        Action.REFERRAL_ACCEPT,
        response,
        session,
        keyring,
        settings,
        principal,
        if_match,
    )


@router.post(
    "/referrals/{referral_id}/decline",
    responses=_CONFLICT,
    response_model=PartnerReferral,
    summary="Decline a referral with a reason (the receiving agency's client)",
    description="`sent → declined`; the case fields are no longer served to you."
    + _ACTION_DOC
    + _PARTNER_DOC,
    openapi_extra=requires(Action.REFERRAL_DECLINE),
)
def decline_referral(
    referral_id: uuid.UUID,
    body: ReasonIn,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> StaffReferral | PartnerReferral:
    return _act(
        referral_id,
        Action.REFERRAL_DECLINE,
        response,
        session,
        keyring,
        settings,
        principal,
        if_match,
        body.reason,
    )


@router.post(
    "/referrals/{referral_id}/updates",
    responses=_CONFLICT,
    response_model=PartnerReferral,
    summary="Post a progress update (the receiving agency's client)",
    description="The first update moves `accepted → in_progress`; later ones keep it there. "
    "The referring caseworker and supervisor read the updates on the referral."
    + _ACTION_DOC
    + _PARTNER_DOC,
    openapi_extra=requires(Action.REFERRAL_UPDATE),
)
def post_referral_update(
    referral_id: uuid.UUID,
    body: NoteIn,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> StaffReferral | PartnerReferral:
    return _act(
        referral_id,
        Action.REFERRAL_UPDATE,
        response,
        session,
        keyring,
        settings,
        principal,
        if_match,
        body.note,
    )


@router.post(
    "/referrals/{referral_id}/complete",
    responses=_CONFLICT,
    response_model=PartnerReferral,
    summary="Complete a referral with its outcome (the receiving agency's client)",
    description="`accepted | in_progress → completed`; the case fields are no longer served "
    "to you." + _ACTION_DOC + _PARTNER_DOC,
    openapi_extra=requires(Action.REFERRAL_COMPLETE),
)
def complete_referral(
    referral_id: uuid.UUID,
    body: OutcomeIn,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> StaffReferral | PartnerReferral:
    # The case gains the service the partner delivered, in the same transaction.
    view = record_outcome(
        session,
        keyring,
        settings,
        principal,
        referral_id,
        body.outcome,
        if_match=_version(if_match),
    )
    _etag(response, view)
    return _schema(view)


@router.post(
    "/referrals/{referral_id}/cancel",
    responses=_CONFLICT,
    response_model=StaffReferral,
    summary="Cancel a referral (the case's caseworker or a supervisor of the referring agency)",
    description="From any state but a final one. The reason `consent_withdrawn` records that "
    "consent was withdrawn (by whom it was recorded, and when): partner access ends at once. "
    "Closing the case (`POST /cases/{id}/close`) cancels every live referral of it the same "
    "way, with the reason `case_closed`, recorded as this action by the closing supervisor."
    + _ACTION_DOC,
    openapi_extra=requires(Action.REFERRAL_CANCEL),
)
def cancel_referral(
    referral_id: uuid.UUID,
    body: CancelIn,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> StaffReferral | PartnerReferral:
    return _act(
        referral_id,
        Action.REFERRAL_CANCEL,
        response,
        session,
        keyring,
        settings,
        principal,
        if_match,
        body.reason,
    )
