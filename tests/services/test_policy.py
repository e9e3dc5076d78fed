"""The policy module on its own: decisions that need no database."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.errors import Forbidden
from services.identity.enums import PrincipalKind
from services.policy import Action, Principal, Role, Scope, allowed, can_see_case, require


def _user(role: Role, agency: uuid.UUID | None = None, **kwargs: Any) -> Principal:
    return Principal(
        kind=PrincipalKind.USER,
        id=uuid.uuid4(),
        agency_id=agency or uuid.uuid4(),
        name="u",
        role=role,
        **kwargs,
    )


def _client(*scopes: str) -> Principal:
    return Principal(
        kind=PrincipalKind.CLIENT,
        id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        name="c",
        scopes=frozenset(scopes),
    )


def test_a_client_without_the_scope_is_told_which_scope_is_missing() -> None:
    with pytest.raises(Forbidden) as refused:
        require(_client(Scope.REFERRALS_READ), Action.REFERRAL_ACCEPT)
    assert "referrals:respond" in refused.value.detail
    assert refused.value.action == "referral.accept"


def test_a_client_never_touches_cases_whatever_its_scopes() -> None:
    client = _client(Scope.REFERRALS_READ, Scope.REFERRALS_RESPOND)
    assert not allowed(client, Action.CASE_READ)
    with pytest.raises(Forbidden) as refused:
        require(client, Action.CASE_READ)
    assert "API clients may not" in refused.value.detail


def test_a_restricted_token_is_refused_everything() -> None:
    restricted = _user(Role.SUPERVISOR, restricted_to=frozenset({"password.change"}))
    assert not any(allowed(restricted, action) for action in Action)


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.AGENCY_ADMIN, Role.AUDITOR])
def test_admins_and_auditors_never_read_case_content(role: Role) -> None:
    principal = _user(role)
    assert not allowed(principal, Action.CASE_READ)
    assert not can_see_case(principal, agency_id=principal.agency_id, owner_id=principal.id)


def test_a_caseworker_sees_only_its_own_cases_a_supervisor_its_agencys() -> None:
    agency = uuid.uuid4()
    caseworker, supervisor = _user(Role.CASEWORKER, agency), _user(Role.SUPERVISOR, agency)
    colleague = uuid.uuid4()
    assert can_see_case(caseworker, agency_id=agency, owner_id=caseworker.id)
    assert not can_see_case(caseworker, agency_id=agency, owner_id=colleague)
    assert can_see_case(supervisor, agency_id=agency, owner_id=colleague)
    assert not can_see_case(supervisor, agency_id=uuid.uuid4(), owner_id=colleague)


def test_a_caseworker_may_never_approve_a_referral() -> None:
    assert not allowed(_user(Role.CASEWORKER), Action.REFERRAL_APPROVE)
    assert allowed(_user(Role.SUPERVISOR), Action.REFERRAL_APPROVE)
