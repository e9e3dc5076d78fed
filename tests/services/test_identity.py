"""Identity services without HTTP: password rules and hashing, TOTP, throttling windows, MFA."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.base import utcnow
from models.identity import LoginFailure
from services.config import Settings
from services.crypto import DecryptionError, Keyring, init_keyring, passwords, totp
from services.errors import InvalidInput
from services.identity import mfa, rules, throttle
from services.identity.auth import MFA_ENROL, PASSWORD_CHANGE, required_steps
from services.policy import Role
from tests.factories import make_agency, make_user

# --- password rules ------------------------------------------------------------------------


def test_the_common_password_list_is_the_ten_thousand() -> None:
    common = rules.common_passwords()
    assert 9_900 <= len(common) <= 10_000
    assert {"password", "123456", "qwerty", "1qaz2wsx3edc"} <= common


@pytest.mark.parametrize(
    "password", ["a" * 11, "x" * 129, "1qaz2wsx3edc", "1QAZ2WSX3EDC", "q1w2e3r4t5y6"]
)
def test_rejected_passwords(password: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.check_new_password(password, loc=("body", "password"))
    assert raised.value.problems[0].loc == ("body", "password")


@pytest.mark.parametrize(
    "password",
    [
        "twelve chars",
        ("the quick brown fox jumps over the lazy dog " * 3)[:64],
        ("the quick brown fox jumps over the lazy dog " * 3)[:128],
        "نص عربي طويل بما يكفي",
        "no digits or capitals at all",
        "ilovemyfamily2024",  # a weak phrase, but none of the rules' patterns
        "4815162342abcd",
    ],
)
def test_accepted_passwords_have_no_composition_rules(password: str) -> None:
    rules.check_new_password(password)


def test_usernames_are_normalised() -> None:
    assert rules.normalise_username("  Amal ") == "amal"
    assert rules.normalise_username("\uff21\uff2d\uff21\uff2c") == "amal"  # full-width (NFKC)


# --- password hashing ---------------------------------------------------------------------


def test_hashes_are_argon2id_phc_with_at_least_owasp_parameters() -> None:
    encoded = passwords.hash_password("a passphrase of mine")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not passwords.needs_rehash(encoded)
    assert passwords.verify_and_upgrade("a passphrase of mine", encoded) == (True, None)
    assert passwords.verify_and_upgrade("another one", encoded) == (False, None)
    assert passwords.verify_password("anything", "not a hash") is False


def test_a_weaker_hash_is_verified_and_upgraded(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(passwords, "ARGON2_MEMORY_KIB", 8192)
        weak = passwords.hash_password("a passphrase of mine")
    assert passwords.needs_rehash(weak)
    ok, upgraded = passwords.verify_and_upgrade("a passphrase of mine", weak)
    assert ok and upgraded is not None and not passwords.needs_rehash(upgraded)
    assert passwords.verify_password("a passphrase of mine", upgraded)


def test_the_dummy_hash_verifies_nothing_but_costs_the_same() -> None:
    assert not passwords.needs_rehash(passwords.DUMMY_HASH)
    assert passwords.verify_password("", passwords.DUMMY_HASH) is False


# --- TOTP ----------------------------------------------------------------------------------


def test_totp_matches_within_one_step_of_drift_only() -> None:
    secret = totp.new_secret()
    assert len(secret) == 20
    at = 1_800_000_015.0
    step = totp.time_step(at)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, totp.code_at(secret, step + offset), at) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.code_at(secret, step + offset)
        if all(code != totp.code_at(secret, step + d) for d in (-1, 0, 1)):
            assert totp.matching_step(secret, code, at) is None


def test_totp_follows_rfc_6238() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); our 6 digits are its tail.
    secret = b"12345678901234567890"
    assert totp.code_at(secret, totp.time_step(59)) == "287082"
    assert totp.code_at(secret, totp.time_step(1111111109)) == "081804"


@hypothesis_settings(max_examples=50, deadline=None)
@given(st.text(max_size=10))
def test_malformed_codes_never_match(code: str) -> None:
    secret = b"12345678901234567890"
    at = 59.0
    result = totp.matching_step(secret, code, at)
    assert result is None or code == totp.code_at(secret, result)


def test_the_uri_names_issuer_and_account() -> None:
    uri = totp.provisioning_uri(b"12345678901234567890", account_name="amal", issuer="Haven")
    assert uri.startswith("otpauth://totp/Haven:amal?")
    assert "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in uri


# --- MFA state -----------------------------------------------------------------------------


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return init_keyring(settings)


def test_a_code_is_accepted_once_and_never_for_an_earlier_step(
    db: Session, keyring: Keyring
) -> None:
    user = make_user(db, make_agency(db))
    enrolment = mfa.start_enrolment(db, keyring, user, issuer="Haven")
    secret = mfa.open_secret(keyring, user)
    assert secret is not None and len(enrolment.recovery_codes) == mfa.RECOVERY_CODE_COUNT
    now = totp.time_step(time.time())
    assert mfa.consume_code(db, keyring, user, totp.code_at(secret, now))
    assert user.totp_last_step == now
    assert not mfa.consume_code(db, keyring, user, totp.code_at(secret, now))
    assert not mfa.consume_code(db, keyring, user, totp.code_at(secret, now - 1))
    assert mfa.consume_code(db, keyring, user, totp.code_at(secret, now + 1))


def test_a_sealed_secret_moved_to_another_user_does_not_open(db: Session, keyring: Keyring) -> None:
    agency = make_agency(db)
    first, second = make_user(db, agency), make_user(db, agency)
    mfa.start_enrolment(db, keyring, first, issuer="Haven")
    second.totp_secret = first.totp_secret
    with pytest.raises(DecryptionError):
        mfa.open_secret(keyring, second)


def test_recovery_codes_are_single_use_and_hashed(db: Session, keyring: Keyring) -> None:
    user = make_user(db, make_agency(db))
    codes = mfa.start_enrolment(db, keyring, user, issuer="Haven").recovery_codes
    assert all(len(mfa.normalise_recovery_code(c)) == 16 for c in codes)
    assert mfa.consume_recovery_code(db, user, codes[3])
    assert not mfa.consume_recovery_code(db, user, codes[3])
    assert mfa.remaining_recovery_codes(db, user.id) == mfa.RECOVERY_CODE_COUNT - 1
    # A new enrolment replaces the old codes.
    mfa.start_enrolment(db, keyring, user, issuer="Haven")
    assert not mfa.consume_recovery_code(db, user, codes[4])


def test_required_steps(db: Session, settings: Settings) -> None:
    strict = settings.model_copy(update={"mfa_required_roles": frozenset({"supervisor"})})
    user = make_user(db, make_agency(db), Role.SUPERVISOR)
    assert required_steps(user, settings) == frozenset()
    assert required_steps(user, strict) == {MFA_ENROL}
    user.must_change_password = True
    assert required_steps(user, strict) == {MFA_ENROL, PASSWORD_CHANGE}
    user.totp_enabled_at = utcnow()
    assert required_steps(user, strict) == {PASSWORD_CHANGE}


# --- throttling ----------------------------------------------------------------------------


def _fail(db: Session, key: str, address: str | None, minutes_ago: float) -> None:
    db.add(
        LoginFailure(
            account_key=key, client_address=address, at=utcnow() - timedelta(minutes=minutes_ago)
        )
    )


def test_the_account_window_slides_per_address(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    key = throttle.account_key(keyring, "Amal")
    assert key == throttle.account_key(keyring, " amal ")
    for minutes_ago in (14, 13, 12, 5, 5, 5, 5, 5, 5):
        _fail(db, key, "10.0.0.1", minutes_ago)
    db.flush()
    assert throttle.retry_after(db, settings, key=key, address="10.0.0.1") is None  # 9 < 10
    _fail(db, key, "10.0.0.1", 0)
    # The account's failures from other addresses never lock this one out:
    # a stranger must not be able to lock a known user out from anywhere.
    for _ in range(20):
        _fail(db, key, "10.0.0.3", 0)
    db.flush()
    assert throttle.retry_after(db, settings, key=key, address="10.0.0.2") is None
    wait = throttle.retry_after(db, settings, key=key, address="10.0.0.1")
    # The oldest failure (14 min ago) leaves the 15-minute window in about a minute.
    assert wait is not None and 50 <= wait <= 61
    # Failures older than the window never count.
    other = throttle.account_key(keyring, "other")
    _fail(db, other, None, 16)
    db.flush()
    assert throttle.retry_after(db, settings, key=other, address=None) is None


def test_the_address_limit_counts_every_account(
    db: Session, settings: Settings, keyring: Keyring
) -> None:
    for n in range(settings.login_max_failures_per_address):
        _fail(db, throttle.account_key(keyring, f"user{n}"), "192.0.2.7", 1)
    db.flush()
    fresh = throttle.account_key(keyring, "fresh")
    wait = throttle.retry_after(db, settings, key=fresh, address="192.0.2.7")
    assert wait is not None and wait <= settings.login_window_minutes * 60
    assert throttle.retry_after(db, settings, key=fresh, address="192.0.2.8") is None


def test_throttle_keys_are_keyed_and_never_the_plain_hash_of_a_name(
    settings: Settings, keyring: Keyring
) -> None:
    key = throttle.account_key(keyring, "Amal")
    assert len(key) == 64 and key != hashlib.sha256(b"amal").hexdigest()
    other = init_keyring(
        settings.model_copy(update={"key_file": settings.key_file.with_name("k2.json")})
    )
    assert throttle.account_key(other, "Amal") != key
    # A partner client id and a username that are the same text count apart.
    assert throttle.client_key(keyring, "amal") != key


def test_an_attempt_is_recorded_before_its_check_and_prunes_old_rows(
    db: Session, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    _fail(db, "old", None, 60)
    db.flush()
    attempt = throttle.begin_attempt(session_factory, settings, key="new", address=None)
    assert attempt.retry_after is None and attempt.account_failures == 1
    assert set(db.scalars(select(LoginFailure.account_key))) == {"new"}
    throttle.succeeded(db, attempt)  # a success is no failure
    assert set(db.scalars(select(LoginFailure.account_key))) == set()


def test_a_refused_attempt_is_neither_checked_nor_counted(
    db: Session, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(settings.login_max_failures_per_account):
        _fail(db, "k", "192.0.2.1", 1)
    db.flush()
    refused = throttle.begin_attempt(session_factory, settings, key="k", address="192.0.2.1")
    assert refused.retry_after is not None
    count = len(db.scalars(select(LoginFailure.id)).all())
    assert count == settings.login_max_failures_per_account
    elsewhere = throttle.begin_attempt(session_factory, settings, key="k", address="192.0.2.2")
    assert elsewhere.retry_after is None
    assert elsewhere.account_failures == settings.login_max_failures_per_account + 1
    assert elsewhere.account_addresses == 2


def test_distributed_failures_are_flagged_at_each_multiple_of_the_limit(
    settings: Settings,
) -> None:
    limit = settings.login_max_failures_per_account

    def attempt(failures: int, addresses: int) -> throttle.Attempt:
        return throttle.Attempt(uuid.uuid4(), "k", "a", None, failures, addresses)

    assert throttle.distributed_failures(attempt(limit, 2), settings)
    assert throttle.distributed_failures(attempt(2 * limit, 5), settings)
    assert not throttle.distributed_failures(attempt(limit + 1, 5), settings)
    assert not throttle.distributed_failures(attempt(limit, 1), settings)  # one source: a 429
    assert not throttle.distributed_failures(attempt(limit - 1, 3), settings)


# --- common-password patterns (a long password is not enough) -------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password1234", "too common"),  # common word + trailing digits
        ("!!Password2024", "too common"),  # leading punctuation, case
        ("Dragon 123456!", "too common"),
        ("passwordpassword", "repeats"),  # a common word twice
        ("monkeymonkey12", "repeats"),
        ("abcdabcdabcd", "repeats"),  # a repeated sequence
        ("aaaaaaaaaaaa", "too few different"),
        ("abababababab", "too few different"),
        ("ab ab ab ab ab ab", "too few different"),
        ("123456789012", "run of consecutive"),  # digits, wrapping around
        ("987654321098", "run of consecutive"),  # backwards
        ("qwertyuiopas", "run of consecutive"),  # keyboard rows
        ("abcdefghijklm", "run of consecutive"),
        ("1qaz2wsx3edc4rfv", "run of consecutive"),  # keyboard columns
    ],
)
def test_long_but_guessable_passwords_are_refused(password: str, why: str) -> None:
    assert len(password) >= rules.PASSWORD_MIN_LENGTH
    with pytest.raises(InvalidInput) as raised:
        rules.check_new_password(password, loc=("body", "password"))
    assert why in raised.value.problems[0].msg


def test_the_pattern_helpers() -> None:
    assert rules.strip_padding("!!Password 2024 ") == "Password"
    assert rules.strip_padding("2024") == ""
    assert rules.repeated_unit("abcabc") == "abc"
    assert rules.repeated_unit("abcabd") is None
    assert rules.is_sequence("7890123") and rules.is_sequence("zyxw")
    assert not rules.is_sequence("13579") and not rules.is_sequence("a")
