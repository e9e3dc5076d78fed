"""The referral state machine: the ONE table of legal moves, and who may make each.

    pending_approval -> sent | rejected | cancelled
    sent             -> accepted | declined | cancelled
    accepted         -> in_progress | completed | cancelled
    in_progress      -> completed | cancelled

`in_progress` is reached by the partner's first progress update; later updates keep it there.
Any (state, action) pair not in `TRANSITIONS` is a `Conflict` (409) and changes nothing.

Who may act is decided in two steps, both by `services.policy`: `require(principal, action)`
(role or scope: supervisors approve/reject, caseworkers and supervisors cancel, partner clients
with `referrals:respond` accept/decline/update/complete), then the referral is loaded through
`referral_filter`, which for staff means "may see the case" (a supervisor of the referring agency,
or the caseworker who owns the case) and for a client "addressed to its agency". The `side` column
below states which of the two kinds of principal the move belongs to; `transition_for` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.actions import Action
from services.errors import Conflict
from services.referrals.enums import ReferralStatus

Status = ReferralStatus
"""Short name used by the table below (and by older imports)."""

TERMINAL_STATUSES = frozenset(
    {Status.REJECTED, Status.DECLINED, Status.COMPLETED, Status.CANCELLED}
)

Side = Literal["referring", "receiving"]
"""`referring`: staff of the case's agency; `receiving`: the addressed partner's API clients."""


@dataclass(frozen=True)
class Transition:
    from_status: Status
    action: Action
    to_status: Status
    side: Side


_T = Transition
S = Status
A = Action

TRANSITIONS: tuple[Transition, ...] = (
    _T(S.PENDING_APPROVAL, A.REFERRAL_APPROVE, S.SENT, "referring"),
    _T(S.PENDING_APPROVAL, A.REFERRAL_REJECT, S.REJECTED, "referring"),
    _T(S.PENDING_APPROVAL, A.REFERRAL_CANCEL, S.CANCELLED, "referring"),
    _T(S.SENT, A.REFERRAL_ACCEPT, S.ACCEPTED, "receiving"),
    _T(S.SENT, A.REFERRAL_DECLINE, S.DECLINED, "receiving"),
    _T(S.SENT, A.REFERRAL_CANCEL, S.CANCELLED, "referring"),
    _T(S.ACCEPTED, A.REFERRAL_UPDATE, S.IN_PROGRESS, "receiving"),
    _T(S.ACCEPTED, A.REFERRAL_COMPLETE, S.COMPLETED, "receiving"),
    _T(S.ACCEPTED, A.REFERRAL_CANCEL, S.CANCELLED, "referring"),
    _T(S.IN_PROGRESS, A.REFERRAL_UPDATE, S.IN_PROGRESS, "receiving"),
    _T(S.IN_PROGRESS, A.REFERRAL_COMPLETE, S.COMPLETED, "receiving"),
    _T(S.IN_PROGRESS, A.REFERRAL_CANCEL, S.CANCELLED, "referring"),
)

_BY_KEY: dict[tuple[Status, Action], Transition] = {
    (t.from_status, t.action): t for t in TRANSITIONS
}

TRANSITION_ACTIONS = frozenset(t.action for t in TRANSITIONS)
"""Every action that moves a referral (the state-changing endpoints)."""


def side_of(action: Action) -> Side:
    sides = {t.side for t in TRANSITIONS if t.action == action}
    if len(sides) != 1:
        raise ValueError(f"{action} is not a referral transition")
    return sides.pop()


def transition_for(status: str, action: Action) -> Transition:
    """The legal move for `action` from `status`; `Conflict` when there is none."""
    found = _BY_KEY.get((Status(status), action))
    if found is None:
        raise Conflict(f"A referral in state '{status}' cannot take the action '{action.value}'.")
    return found


def allowed_actions(status: str) -> list[str]:
    """Actions legal from `status` (for clients that want to show buttons)."""
    return sorted(t.action.value for t in TRANSITIONS if t.from_status == Status(status))
