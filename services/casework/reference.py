"""Reference lists of casework: the need codes assessments and plans use, and the labels of the
service types services and referrals use."""

from __future__ import annotations

from services.cases.labels import Labels
from services.casework.codes import NEEDS, SERVICE_LABELS, Need
from services.policy import Action, Principal, require
from services.referrals.enums import ServiceType


def list_needs(principal: Principal) -> tuple[Need, ...]:
    require(principal, Action.REFERENCE_READ)
    return NEEDS


def list_service_types(principal: Principal) -> list[tuple[ServiceType, Labels]]:
    require(principal, Action.REFERENCE_READ)
    return [(code, SERVICE_LABELS[code]) for code in ServiceType]
