"""Single use across workers: two connections racing to accept the same TOTP code or recovery
code; exactly one wins (the conditional UPDATE is atomic on both databases)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from models.identity import User
from services.crypto import totp
from services.identity import mfa
from services.runtime import Runtime
from tests.factories import make_agency, make_user


def race(runtime: Runtime, user_id: object, attempt: Callable[[Session, User], bool]) -> list[bool]:
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        # Start together; on SQLite the second writer then waits for the first (BEGIN
        # IMMEDIATE), on PostgreSQL both read the old state and race on the row.
        barrier.wait(timeout=30)
        with runtime.session_factory() as session, session.begin():
            user = session.get(User, user_id)
            assert user is not None
            results.append(attempt(session, user))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_a_totp_code_is_accepted_by_only_one_of_two_racing_workers(
    fresh_runtime: Runtime,
) -> None:
    keyring = fresh_runtime.keyring
    with fresh_runtime.session_factory() as session, session.begin():
        user = make_user(session, make_agency(session))
        codes = mfa.start_enrolment(session, keyring, user, issuer="Haven").recovery_codes
        secret = mfa.open_secret(keyring, user)
        user_id = user.id
    assert secret is not None
    code = totp.code_at(secret, totp.time_step(time.time()))
    results = race(fresh_runtime, user_id, lambda s, u: mfa.consume_code(s, keyring, u, code))
    assert sorted(results) == [False, True]
    results = race(fresh_runtime, user_id, lambda s, u: mfa.consume_recovery_code(s, u, codes[0]))
    assert sorted(results) == [False, True]
