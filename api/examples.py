"""Examples for request bodies, shown in /docs ("Try it out" sends them as they are) and in
generated clients. Each one must be accepted as it stands: a test posts every request example
and fails on a 422, so an example never drifts from its schema.

Keyed by the schema's name in the OpenAPI document. A model may instead carry its own example
(`model_config = ConfigDict(json_schema_extra={"examples": [...]})`); the document uses that
first. Ids in examples are placeholders: the operation answers 404 until you put real ones.
"""

from __future__ import annotations

from typing import Any

AGENCY_ID = "3f2b8c1e-5d4a-4e6f-9b7c-2a1d0e9f8c7b"
USER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "MatchConfirm": {"note": "Father identified the child from the photograph at the office."},
    "MatchReject": {"reason": "Different birth year and village; not the same child."},
    "Reunification": {"reunified_on": "2026-11-30", "with": "parents", "note": "Home visit set."},
    "TracingClose": {"reason": "The enquirer found the child through another agency."},
    "LoginRequest": {"username": "amal", "password": "correct horse battery staple"},
    "PasswordChangeRequest": {
        "current_password": "the temporary password you were given",
        "new_password": "a long passphrase of your own",
    },
    "MfaEnrolRequest": {"password": "correct horse battery staple"},
    "MfaConfirmRequest": {"code": "492039"},
    "MfaDisableRequest": {"password": "correct horse battery staple"},
    "AgencyCreate": {"name": "Partner Health"},
    "UserCreate": {
        "username": "hadi",
        "password": "a long passphrase to hand over",
        "role": "supervisor",
        "agency_id": AGENCY_ID,
        "must_change_password": True,
    },
    "UserUpdate": {"is_active": False},
    "PasswordResetRequest": {"reset_mfa": False},
    "ApiClientCreate": {
        "agency_id": AGENCY_ID,
        "name": "Partner Health case system",
        "scopes": ["referrals:read", "referrals:respond"],
    },
    "CaseCreate": {
        "child": {
            "given_name": "ئاڤین",
            "family_name": "Haddad",
            "sex": "female",
            "date_of_birth": "2014-03-09",
        },
        "location": {"governorate": "Duhok", "district": "Zakho", "address": "Camp 4, block C"},
        "caregivers": [{"name": "Leyla Haddad", "relationship": "aunt", "phone": "+9647501234567"}],
        "separation_status": "separated",
        "protection_concerns": ["caafag"],
        "risk_level": "high",
        "narrative": "Returned from the camp with her aunt; nightmares since the return.",
    },
    "CasePatch": {"risk_level": "medium", "location": {"district": "Sumel"}},
    "Erasure": {"reason": "Registered twice by mistake; the other record is kept"},
    "StageMove": {"to": "assessment"},
    "Assignment": {"user_id": USER_ID},
    "NoteCreate": {"text": "Home visit done; the aunt agrees to a school referral."},
    "ReferralCreate": {
        "to_agency_id": AGENCY_ID,
        "service_type": "mhpss",
        "urgency": "high",
        "reason": "Nightmares and withdrawal since return",
        "shared_fields": ["child.given_name", "child.date_of_birth", "location.district"],
        "consent": {"given_by": "caregiver", "obtained_at": "2026-11-30T10:00:00Z"},
    },
    "ReasonIn": {"reason": "The family has moved out of our area"},
    "CancelIn": {"reason": "consent_withdrawn"},
    "NoteIn": {"note": "First group session attended"},
    "OutcomeIn": {"outcome": "Completed 8 sessions; stable"},
    "Body_auth_token": {
        "grant_type": "client_credentials",
        "client_id": "hvc_0123456789abcdef",
        "client_secret": "the secret shown once when the client was created",
        "scope": "referrals:read",
    },
}
