"""Referral services without HTTP: the table, compare-and-set, encryption, policy, erasure."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from models.referrals import Referral, ReferralUpdate
from services.cases.access import CASE_FIELD_PATHS, case_data_key, decrypt_for_case
from services.crypto import DecryptionError
from services.errors import Conflict, Forbidden, NotFound
from services.identity.enums import PrincipalKind
from services.policy import (
    PARTNER_VISIBLE_STATUSES,
    Action,
    Principal,
    Role,
    can_see_referral,
    referral_filter,
)
from services.referrals import service as referrals
from services.referrals import states
from services.referrals.effects import EFFECTS
from services.referrals.states import Status, transition_for
from services.referrals.transitions import compare_and_set
from services.referrals.views import PartnerReferralView, is_overdue
from services.runtime import Runtime
from tests.factories import client_principal, make_agency, make_api_client, make_user, principal_of
from tests.referrals_support import CONSENT_NOTE, MARKERS, REASON, make_case


class Setup:
    def __init__(self, db: Session, runtime: Runtime) -> None:
        self.db = db
        self.keyring = runtime.keyring
        self.settings = runtime.settings
        home = make_agency(db)
        self.partner_agency = make_agency(db)
        self.caseworker = principal_of(make_user(db, home, Role.CASEWORKER))
        self.supervisor = principal_of(make_user(db, home, Role.SUPERVISOR))
        self.partner = client_principal(make_api_client(db, self.partner_agency))
        self.case_id = make_case(
            db,
            self.keyring,
            self.settings,
            make_user(db, home, Role.CASEWORKER),
        )
        # The case belongs to another caseworker of `home`; hand it to ours.
        case = db.get(Case, self.case_id)
        assert case is not None
        case.owner_id = self.caseworker.id
        db.flush()

    def referral(self, **overrides: object) -> uuid.UUID:
        values: dict[str, object] = {
            "to_agency_id": self.partner_agency.id,
            "service_type": "medical",
            "urgency": "medium",
            "reason": REASON,
            "shared_fields": ["child.given_name"],
            "consent_given_by": "child",
            "consent_obtained_at": utcnow() - timedelta(hours=2),
            "consent_note": CONSENT_NOTE,
        }
        values.update(overrides)
        created = referrals.create_referral(
            self.db,
            self.keyring,
            self.caseworker,
            self.case_id,
            referrals.NewReferral(**values),  # type: ignore[arg-type]
        )
        return created.referral.id

    def act(self, principal: Principal, rid: uuid.UUID, action: Action, **kw: object) -> object:
        return referrals.act(
            self.db,
            self.keyring,
            self.settings,
            principal,
            rid,
            action,
            **kw,  # type: ignore[arg-type]
        )


@pytest.fixture
def s(db: Session, runtime: Runtime) -> Setup:
    return Setup(db, runtime)


def test_transition_for_knows_only_the_table() -> None:
    assert transition_for("sent", Action.REFERRAL_ACCEPT).to_status == Status.ACCEPTED
    assert transition_for("accepted", Action.REFERRAL_UPDATE).to_status == Status.IN_PROGRESS
    assert transition_for("in_progress", Action.REFERRAL_UPDATE).to_status == Status.IN_PROGRESS
    with pytest.raises(Conflict):
        transition_for("completed", Action.REFERRAL_CANCEL)
    with pytest.raises(Conflict):
        transition_for("pending_approval", Action.REFERRAL_ACCEPT)
    for status in states.TERMINAL_STATUSES:
        for action in states.TRANSITION_ACTIONS:
            with pytest.raises(Conflict):
                transition_for(status, action)


def test_every_transition_action_has_one_effect_on_real_columns() -> None:
    # `act` applies `EFFECTS[action]` for every move the state table allows: an action without
    # an entry would fail at run time, a misspelt column would fail only in its UPDATE.
    assert set(EFFECTS) == set(states.TRANSITION_ACTIONS)
    columns = set(Referral.__table__.columns.keys())
    for action, effect in EFFECTS.items():
        if effect.stamp is not None:
            assert {f"{effect.stamp}_by", f"{effect.stamp}_at"} <= columns, action
        if effect.sealed_as is not None:
            assert f"{effect.sealed_as}_encrypted" in columns, action
            assert effect.text is not None, action


def test_a_stale_compare_and_set_loses_and_changes_nothing(s: Setup) -> None:
    rid = s.referral()
    s.act(s.supervisor, rid, Action.REFERRAL_APPROVE)
    row = s.db.get(Referral, rid)
    assert row is not None and row.version == 2
    # Someone else's transaction moved it on meanwhile (this session's object is now stale).
    s.db.execute(
        update(Referral)
        .where(Referral.id == rid)
        .values(version=Referral.version + 1)
        .execution_options(synchronize_session=False)
    )
    assert row.version == 2
    with pytest.raises(Conflict):
        compare_and_set(
            s.db,
            row,
            transition_for("sent", Action.REFERRAL_ACCEPT),
            {"responded_at": utcnow()},
            row.version,
        )
    stored = s.db.execute(
        select(Referral.status, Referral.version, Referral.responded_at).where(Referral.id == rid)
    ).one()
    assert tuple(stored) == ("sent", 3, None)


def test_if_match_is_compared_in_the_update(s: Setup) -> None:
    rid = s.referral()
    with pytest.raises(Conflict):
        s.act(s.supervisor, rid, Action.REFERRAL_APPROVE, if_match=5)
    row = s.db.get(Referral, rid)
    assert row is not None and row.status == "pending_approval" and row.version == 1


def test_texts_are_encrypted_at_rest_and_bound_to_their_row(s: Setup, db: Session) -> None:
    rid = s.referral()
    s.act(s.supervisor, rid, Action.REFERRAL_APPROVE)
    s.act(s.partner, rid, Action.REFERRAL_ACCEPT)
    s.act(s.partner, rid, Action.REFERRAL_UPDATE, text="MKupdate visit one")
    s.act(s.partner, rid, Action.REFERRAL_COMPLETE, text="MKoutcome done")
    db.flush()
    raw_rows = db.execute(text("SELECT * FROM referrals")).all()
    raw_updates = db.execute(text("SELECT * FROM referral_updates")).all()
    dump = repr(raw_rows) + repr(raw_updates)
    for plaintext in (REASON, CONSENT_NOTE, "MKupdate", "MKoutcome", "MKgiven"):
        assert plaintext.encode() not in dump.encode()
        assert plaintext not in dump
    row = db.get(Referral, rid)
    case = db.get(Case, s.case_id)
    assert row is not None and case is not None
    dek = case_data_key(db, s.keyring, case)
    assert (
        decrypt_for_case(
            dek, row.reason_encrypted, table="referrals", record_id=rid, field="reason"
        )
        == REASON
    )
    # The reason's ciphertext is no good in another column or another row.
    assert row.outcome_encrypted is not None
    with pytest.raises(DecryptionError):
        decrypt_for_case(
            dek, row.reason_encrypted, table="referrals", record_id=rid, field="outcome"
        )
    with pytest.raises(DecryptionError):
        decrypt_for_case(
            dek, row.reason_encrypted, table="referrals", record_id=uuid.uuid4(), field="reason"
        )


def test_partner_view_builder_holds_no_case_value_once_ended(s: Setup) -> None:
    rid = s.referral()
    s.act(s.supervisor, rid, Action.REFERRAL_APPROVE)
    live = referrals.get_referral(s.db, s.keyring, s.partner, rid)
    assert isinstance(live, PartnerReferralView)
    assert live.case == {"child.given_name": "MKgiven"}
    assert live.fields_served == ["case.child.given_name", "reason"]
    s.act(s.partner, rid, Action.REFERRAL_DECLINE, text="MKdecline full")
    ended = referrals.get_referral(s.db, s.keyring, s.partner, rid)
    assert isinstance(ended, PartnerReferralView)
    assert ended.case is None and ended.reason is None
    assert ended.decline_reason == "MKdecline full"
    assert ended.fields_served == ["decline_reason"]


def test_the_wrong_side_is_refused_even_if_a_scope_allowed_it(s: Setup) -> None:
    rid = s.referral()
    widened = Principal(
        kind=PrincipalKind.CLIENT,
        id=s.partner.id,
        agency_id=s.partner.agency_id,
        name="x",
        scopes=frozenset({"referrals:read", "referrals:respond"}),
    )
    with pytest.raises(Forbidden):
        s.act(widened, rid, Action.REFERRAL_APPROVE)
    # Staff can never take the partner's moves.
    s.act(s.supervisor, rid, Action.REFERRAL_APPROVE)
    with pytest.raises(Forbidden):
        s.act(s.supervisor, rid, Action.REFERRAL_ACCEPT)


def test_missing_referral_is_not_found(s: Setup) -> None:
    with pytest.raises(NotFound):
        referrals.get_referral(s.db, s.keyring, s.supervisor, uuid.uuid4())


def test_overdue_is_sent_and_past_due_only(s: Setup) -> None:
    rid = s.referral()
    s.act(s.supervisor, rid, Action.REFERRAL_APPROVE)
    row = s.db.get(Referral, rid)
    assert row is not None and row.respond_due_at is not None
    assert row.approved_at is not None
    assert row.respond_due_at - row.approved_at == timedelta(hours=72)  # medium default
    assert not is_overdue(row)
    assert is_overdue(row, now=row.respond_due_at + timedelta(seconds=1))
    row.status = "accepted"
    assert not is_overdue(row, now=row.respond_due_at + timedelta(days=9))


def test_erasing_the_case_removes_its_referrals_and_updates(s: Setup, db: Session) -> None:
    rid = s.referral()
    s.act(s.supervisor, rid, Action.REFERRAL_APPROVE)
    s.act(s.partner, rid, Action.REFERRAL_ACCEPT)
    s.act(s.partner, rid, Action.REFERRAL_UPDATE, text="note")
    db.flush()
    db.expunge_all()
    db.execute(delete(Case).where(Case.id == s.case_id))
    assert db.scalar(select(Referral.id).where(Referral.id == rid)) is None
    assert db.scalar(select(ReferralUpdate.id).where(ReferralUpdate.referral_id == rid)) is None


def test_policy_predicate_and_sql_filter_agree(s: Setup, db: Session) -> None:
    """`can_see_referral` and `referral_filter` decide the same for every state and principal."""
    other_partner = client_principal(make_api_client(db, make_agency(db)))
    outsider = principal_of(make_user(db, s.partner_agency, Role.SUPERVISOR))
    principals = [s.caseworker, s.supervisor, s.partner, other_partner, outsider]
    ids: dict[tuple[str, bool], uuid.UUID] = {}
    for status, sent in itertools.product([member.value for member in Status], [False, True]):
        rid = s.referral()
        db.execute(
            update(Referral)
            .where(Referral.id == rid)
            .values(status=status, approved_at=utcnow() if sent else None)
        )
        ids[(status, sent)] = rid
    case = db.get(Case, s.case_id)
    assert case is not None
    for principal in principals:
        visible = set(
            db.scalars(
                select(Referral.id)
                .join(Case, Case.id == Referral.case_id)
                .where(
                    Referral.id.in_(ids.values()),
                    referral_filter(
                        principal,
                        status_col=Referral.status,
                        sent_at_col=Referral.approved_at,
                        to_agency_col=Referral.to_agency_id,
                        case_agency_col=Case.agency_id,
                        case_owner_col=Case.owner_id,
                    ),
                )
            )
        )
        for (status, sent), rid in ids.items():
            expected = can_see_referral(
                principal,
                status=status,
                was_sent=sent,
                to_agency_id=s.partner_agency.id,
                case_agency_id=case.agency_id,
                case_owner_id=case.owner_id,
            )
            assert (rid in visible) == expected, (principal.kind, principal.role, status, sent)
    # And the partner's view is exactly: addressed to it, sent once, in a visible state.
    partner_seen = {
        key
        for key, rid in ids.items()
        if can_see_referral(
            s.partner,
            status=key[0],
            was_sent=key[1],
            to_agency_id=s.partner_agency.id,
            case_agency_id=case.agency_id,
            case_owner_id=case.owner_id,
        )
    }
    assert partner_seen == {(status, True) for status in PARTNER_VISIBLE_STATUSES}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shared=st.lists(st.sampled_from(sorted(CASE_FIELD_PATHS)), unique=True, max_size=6),
    steps=st.sampled_from(
        [
            [Action.REFERRAL_APPROVE],
            [Action.REFERRAL_APPROVE, Action.REFERRAL_ACCEPT],
            [Action.REFERRAL_APPROVE, Action.REFERRAL_ACCEPT, Action.REFERRAL_UPDATE],
            [Action.REFERRAL_APPROVE, Action.REFERRAL_DECLINE],
            [Action.REFERRAL_APPROVE, Action.REFERRAL_ACCEPT, Action.REFERRAL_COMPLETE],
            [Action.REFERRAL_APPROVE, Action.REFERRAL_CANCEL],
        ]
    ),
)
def test_partner_view_holds_exactly_the_shared_fields_while_live(
    s: Setup, shared: list[str], steps: list[Action]
) -> None:
    rid = s.referral(shared_fields=shared)
    for action in steps:
        who = (
            s.supervisor
            if action in (Action.REFERRAL_APPROVE, Action.REFERRAL_CANCEL)
            else s.partner
        )
        s.act(who, rid, action, text="MKstep text")
    view = referrals.get_referral(s.db, s.keyring, s.partner, rid)
    assert isinstance(view, PartnerReferralView)
    dumped = repr(view.case) + repr(view.reason)
    unshared = [m for path, m in MARKERS.items() if path not in shared]
    assert [m for m in unshared if m in dumped] == []
    if view.status in ("sent", "accepted", "in_progress"):
        assert view.case is not None and sorted(view.case) == sorted(shared)
    else:
        assert view.case is None and view.reason is None
