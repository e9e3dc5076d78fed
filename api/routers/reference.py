"""Routes: reference data (`GET /reference/concerns`, `/needs`, `/services`, `/closure-reasons`).

Each item carries its labels in English, Arabic and Sorani Kurdish (`labels`), and `label` in
the language the request's Accept-Language prefers among those (English otherwise); the answer
says which in `Content-Language`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from api.deps import PrincipalDep
from api.openapi import requires
from api.routing import TransactionalRoute
from api.schemas.cases import ConcernList, ConcernOut
from api.schemas.casework import LabelsOut, NeedItem, NeedList, ReferenceItem, ReferenceList
from services.cases.labels import Labels, Language
from services.cases.reference import list_closure_reasons, list_concerns
from services.casework.reference import list_needs, list_service_types
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: `include_router` keeps each route's own class, so the parent's is not enough."""

AcceptLanguage = Annotated[
    str | None,
    Header(
        alias="Accept-Language",
        max_length=500,
        description="`en`, `ar` or `ckb` (Sorani Kurdish), with optional q-values.",
    ),
]

_TAGS: dict[str, Language] = {"en": Language.EN, "ar": Language.AR, "ckb": Language.CKB}
_SORANI_TAGS = ("ku-arab", "ku-iq")
"""Sorani is `ckb`; some systems still send Kurdish in Arabic script as `ku-Arab` or `ku-IQ`."""


def _language_of(tag: str) -> Language | None:
    tag = tag.strip().lower()
    if any(tag == known or tag.startswith(f"{known}-") for known in _SORANI_TAGS):
        return Language.CKB
    return _TAGS.get(tag.split("-")[0])


def choose_language(accept_language: str | None) -> Language:
    """The supported language with the highest q-value (ties: the first listed); else English."""
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        language = _language_of(tag)
        if language is None:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidate = (quality, -position, language)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else Language.EN


def _labels(labels: Labels) -> LabelsOut:
    return LabelsOut(en=labels.en, ar=labels.ar, ckb=labels.ckb)


def _language(response: Response, accept_language: str | None) -> Language:
    language = choose_language(accept_language)
    response.headers["Content-Language"] = language.value
    return language


@router.get(
    "/reference/concerns",
    response_model=ConcernList,
    summary="Protection-concern codes, labelled in English, Arabic and Sorani Kurdish",
    openapi_extra=requires(Action.REFERENCE_READ),
)
def concerns(
    response: Response, principal: PrincipalDep, accept_language: AcceptLanguage = None
) -> ConcernList:
    language = _language(response, accept_language)
    return ConcernList(
        items=[
            ConcernOut(
                code=c.code,
                label=c.labels.in_language(language),
                labels=_labels(c.labels),
            )
            for c in list_concerns(principal)
        ]
    )


@router.get(
    "/reference/needs",
    response_model=NeedList,
    summary="Need codes for assessments and plan goals, by domain",
    openapi_extra=requires(Action.REFERENCE_READ),
)
def needs(
    response: Response, principal: PrincipalDep, accept_language: AcceptLanguage = None
) -> NeedList:
    language = _language(response, accept_language)
    return NeedList(
        items=[
            NeedItem(
                code=need.code,
                domain=need.domain,
                label=need.labels.in_language(language),
                labels=_labels(need.labels),
            )
            for need in list_needs(principal)
        ]
    )


@router.get(
    "/reference/services",
    response_model=ReferenceList,
    summary="Service types (referrals, plan actions, services delivered)",
    openapi_extra=requires(Action.REFERENCE_READ),
)
def service_types(
    response: Response, principal: PrincipalDep, accept_language: AcceptLanguage = None
) -> ReferenceList:
    language = _language(response, accept_language)
    return ReferenceList(
        items=[
            ReferenceItem(code=code, label=labels.in_language(language), labels=_labels(labels))
            for code, labels in list_service_types(principal)
        ]
    )


@router.get(
    "/reference/closure-reasons",
    response_model=ReferenceList,
    summary="Reasons for closing a case (`other` needs a note)",
    openapi_extra=requires(Action.REFERENCE_READ),
)
def closure_reasons(
    response: Response, principal: PrincipalDep, accept_language: AcceptLanguage = None
) -> ReferenceList:
    language = _language(response, accept_language)
    return ReferenceList(
        items=[
            ReferenceItem(
                code=reason.value, label=labels.in_language(language), labels=_labels(labels)
            )
            for reason, labels in list_closure_reasons(principal)
        ]
    )
