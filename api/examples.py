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
    "AccessGrant": {"user_id": USER_ID, "reason": "Covers the district while the owner is away"},
    "BreakGlassIn": {"reason": "Child reported missing from the shelter; owner unreachable"},
    "ReviewIn": {"note": "Justified: the owner was on leave and the child was at risk tonight."},
    "AlertClear": {"note": "Covered two districts during the flood response; reads justified."},
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
        "client_id": "hvc_0123456789abcdef0123",
        "client_secret": "the secret shown once when the client was created",
        "scope": "referrals:read",
    },
}

# --- responses ---------------------------------------------------------------------------------
# Shown beside each 2xx answer in /docs. Keyed like the request examples (by the response
# schema's name); a model's own `examples` win, and a page (`items`, `next_cursor`) is built
# from its item's example by the document itself. A test validates every one against its
# response schema in /openapi.json, so they cannot drift from the real shapes.

CASE_ID = "0b6e2f4a-9c1d-4f7e-8a3b-5d2c1e0f9a8b"
REFERRAL_ID = "c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f"
PARTNER_AGENCY_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
CLIENT_RECORD_ID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
SUPERVISOR_ID = "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a0b"
WHEN = "2026-11-30T10:15:00Z"
CASE_NUMBER = "HVN-2026-000123"

_CASE_BODY = REQUEST_EXAMPLES["CaseCreate"]
_CASE = {
    "id": CASE_ID,
    "case_number": CASE_NUMBER,
    "version": 1,
    "status": "open",
    "stage": "registration",
    "agency_id": AGENCY_ID,
    "owner_id": USER_ID,
    "created_at": WHEN,
    "updated_at": WHEN,
    "next_action_due_at": "2026-12-01T10:15:00Z",
    "closure_requested_at": None,
    "closed_at": None,
    **_CASE_BODY,
    "child": {
        **_CASE_BODY["child"],
        "estimated_age": None,
        "other_names": None,
        "father_name": None,
        "grandfather_name": None,
        "mother_name": None,
    },
    "restricted": False,
    "restriction_reason": None,
    "next_action_kind": None,
    "overdue_items": None,
}
_SHARED = {
    "child.given_name": "ئاڤین",
    "child.date_of_birth": "2014-03-09",
    "location.district": "Zakho",
}
_REFERRAL_BODY = REQUEST_EXAMPLES["ReferralCreate"]
_UPDATE = {
    "id": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
    "author_type": "client",
    "author_id": CLIENT_RECORD_ID,
    "note": "First group session attended",
    "created_at": "2026-12-03T09:00:00Z",
}

_BREAK_GLASS = {
    "id": "8f7e6d5c-4b3a-4291-8e7f-6a5b4c3d2e1f",
    "case_id": CASE_ID,
    "case_number": CASE_NUMBER,
    "agency_id": AGENCY_ID,
    "user_id": SUPERVISOR_ID,
    "reason": "Night call from the police: the child was found alone; the owner is unreachable",
    "used_at": "2026-12-01T02:10:00Z",
    "expires_at": "2026-12-01T03:10:00Z",
    "active": False,
    "reviewed_at": "2026-12-01T09:30:00Z",
    "reviewed_by": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    "review_note": "Justified: the owner confirmed the call the next morning",
    "overdue": False,
}

RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "HealthStatus": {"status": "ok"},
    "LoginResponse": {
        "access_token": "hvn_Vx4c8f0QyJ2nR7bT9mK1wZ5pL3sD6gH0aB2cD4eF6gH",
        "token_type": "bearer",
        "expires_in": 28800,
        "restricted_to": [],
    },
    "UserMe": {
        "id": USER_ID,
        "username": "amal",
        "role": "caseworker",
        "agency_id": AGENCY_ID,
        "mfa_enabled": True,
        "must_change_password": False,
        "restricted_to": [],
    },
    "ClientTokenResponse": {
        "access_token": "hvn_Pq7r2S9tU4vW1xY6zA3bC8dE5fG0hJ2kL4mN6pQ8rS",
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": "referrals:read referrals:respond",
    },
    "StepsResponse": {"restricted_to": []},
    "MfaEnrolment": {
        "otpauth_uri": "otpauth://totp/Haven:amal?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Haven",
        "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        "recovery_codes": ["K7D2-QMX4-HV9P-W3TZ", "C8NF-5JR2-LM6Q-B4XA"],
    },
    "AgencyOut": {"id": AGENCY_ID, "name": "Partner Health"},
    "UserOut": {
        "id": USER_ID,
        "username": "hadi",
        "role": "supervisor",
        "agency_id": AGENCY_ID,
        "is_active": True,
        "mfa_enabled": False,
        "must_change_password": True,
        "pending_approval": False,
        "created_at": WHEN,
    },
    "PasswordResetResponse": {
        "user_id": USER_ID,
        "temporary_password": "k7d2qm-x4hv9p-w3tz6r-c8nf5j",
    },
    "ApiClientOut": {
        "id": CLIENT_RECORD_ID,
        "client_id": "hvc_0123456789abcdef0123",
        "name": "Partner Health case system",
        "agency_id": PARTNER_AGENCY_ID,
        "scopes": ["referrals:read", "referrals:respond"],
        "created_at": WHEN,
    },
    "ApiClientCreated": {
        "id": CLIENT_RECORD_ID,
        "client_id": "hvc_0123456789abcdef0123",
        "name": "Partner Health case system",
        "agency_id": PARTNER_AGENCY_ID,
        "scopes": ["referrals:read", "referrals:respond"],
        "created_at": WHEN,
        "client_secret": "hvs_9fK2mQ7xR4tV1wY8zB3cD6eF0gH5jL2nP4qR6sT8uV",
    },
    "ConcernOut": {
        "code": "caafag",
        "label": "Associated with armed forces or groups",
        "labels": {
            "en": "Associated with armed forces or groups",
            "ar": "مرتبط بالقوات أو الجماعات المسلحة",
            "ckb": "پەیوەست بە هێز یان گرووپە چەکدارەکانەوە",
        },
    },
    "NeedItem": {
        "code": "psychosocial_support",
        "label": "Psychosocial support",
        "labels": {
            "en": "Psychosocial support",
            "ar": "دعم نفسي اجتماعي",
            "ckb": "پاڵپشتی دەروونی و کۆمەڵایەتی",
        },
        "domain": "psychosocial",
    },
    "CaseOut": _CASE,
    "CaseCreated": {**_CASE, "possible_duplicates": [], "duplicate_check": "complete"},
    "AccessEntryOut": {
        "case_id": CASE_ID,
        "user_id": SUPERVISOR_ID,
        "username": "hadi",
        "role": "supervisor",
        "added_by": USER_ID,
        "added_at": WHEN,
        "reason": "Covers the case while the owner is on leave",
    },
    "BreakGlassOut": _BREAK_GLASS,
    "BreakGlassCase": {
        **_CASE,
        "restricted": True,
        "break_glass": {
            **_BREAK_GLASS,
            "active": True,
            "reviewed_at": None,
            "reviewed_by": None,
            "review_note": None,
        },
    },
    "NoteOut": {
        "id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
        "case_id": CASE_ID,
        "author_id": USER_ID,
        "text": REQUEST_EXAMPLES["NoteCreate"]["text"],
        "created_at": WHEN,
    },
    "StaffReferral": {
        "view": "staff",
        "id": REFERRAL_ID,
        "case_id": CASE_ID,
        "case_number": CASE_NUMBER,
        "status": "in_progress",
        "version": 4,
        "service_type": _REFERRAL_BODY["service_type"],
        "urgency": _REFERRAL_BODY["urgency"],
        "from_agency_id": AGENCY_ID,
        "to_agency_id": PARTNER_AGENCY_ID,
        "reason": _REFERRAL_BODY["reason"],
        "shared_fields": _REFERRAL_BODY["shared_fields"],
        "case": _SHARED,
        "consent": {**_REFERRAL_BODY["consent"], "note": None},
        "best_interest_override": False,
        "allowed_actions": ["referral.cancel"],
        "created_by": USER_ID,
        "created_at": WHEN,
        "updated_at": "2026-12-03T09:00:00Z",
        "approved_by": SUPERVISOR_ID,
        "approved_at": "2026-11-30T11:00:00Z",
        "respond_due_at": "2026-12-01T11:00:00Z",
        "overdue": False,
        "rejected_by": None,
        "rejected_at": None,
        "rejection_reason": None,
        "responded_by": CLIENT_RECORD_ID,
        "responded_at": "2026-11-30T15:20:00Z",
        "decline_reason": None,
        "completed_by": None,
        "completed_at": None,
        "outcome": None,
        "cancelled_by": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "consent_withdrawn": False,
        "consent_withdrawn_at": None,
        "consent_withdrawn_by": None,
        "updates": [_UPDATE],
    },
    "PartnerReferral": {
        "view": "partner",
        "id": REFERRAL_ID,
        "status": "in_progress",
        "version": 4,
        "service_type": _REFERRAL_BODY["service_type"],
        "urgency": _REFERRAL_BODY["urgency"],
        "from_agency_id": AGENCY_ID,
        "to_agency_id": PARTNER_AGENCY_ID,
        "reason": _REFERRAL_BODY["reason"],
        "shared_fields": _REFERRAL_BODY["shared_fields"],
        "case": _SHARED,
        "consent": {"given_by": "caregiver", "obtained_at": "2026-11-30T10:00:00Z"},
        "allowed_actions": ["referral.complete", "referral.update"],
        "sent_at": "2026-11-30T11:00:00Z",
        "respond_due_at": "2026-12-01T11:00:00Z",
        "overdue": False,
        "responded_at": "2026-11-30T15:20:00Z",
        "decline_reason": None,
        "completed_at": None,
        "outcome": None,
        "cancelled_at": None,
        "consent_withdrawn": False,
        "updated_at": "2026-12-03T09:00:00Z",
        "updates": [_UPDATE],
    },
    "TracingRequestOut": {
        "id": "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e",
        "reference": "TR-7K3M-Q9XP",
        "version": 1,
        "status": "open",
        "agency_id": AGENCY_ID,
        "owner_id": USER_ID,
        "created_at": WHEN,
        "updated_at": WHEN,
        "enquirer": {
            "name": "Ahmad Hassan",
            "relationship": "father",
            "phone": "+964 750 000 0000",
            "location": None,
        },
        "sought": {
            "names": ["محمد احمد حسن", "Mohammed Ahmed"],
            "father_name": "Ahmad",
            "grandfather_name": "Hassan",
            "mother_name": None,
            "sex": "male",
            "date_of_birth": None,
            "estimated_age": 12,
            "last_seen_place": "Sinjar",
            "last_seen_on": "2024-08-03",
        },
        "circumstances": "Separated at a checkpoint.",
        "reunification": None,
        "closure": None,
    },
    "MatchOut": {
        "case_id": CASE_ID,
        "tracing_request_id": "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e",
        "score": 0.91,
        "label": "likely",
        "status": "proposed",
        "fields": {
            "given_name": "match",
            "father_name": "match",
            "grandfather_name": "partial",
            "mother_name": "unknown",
            "family_name": "match",
            "sex": "match",
            "age": "match",
        },
    },
    "AuditEventOut": {
        "seq": 4182,
        "at": WHEN,
        "actor": {
            "type": "user",
            "id": USER_ID,
            "role": "caseworker",
            "scopes": None,
            "agency_id": AGENCY_ID,
        },
        "action": "case.read",
        "resource_type": "case",
        "resource_id": CASE_ID,
        "case_id": CASE_ID,
        "outcome": "success",
        "request_id": "4f9d2c1b8a7e4d3c9b2a1f0e8d7c6b5a",
        "client_address": "10.20.0.14",
        "fields": ["child", "location", "narrative"],
        "detail": {"status": 200},
        "hash": "9b1d5e0c3f7a2b8d4e6f1a0c9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
    },
    "AuditVerifyOut": {
        "valid": True,
        "events_checked": 4182,
        "first_invalid_seq": None,
        "reason": None,
        "checkpoints_checked": 41,
        "warnings": [],
        "malformed_checkpoint_lines": [],
    },
}

OPERATION_RESPONSE_EXAMPLES: dict[str, Any] = {
    "ready": {"status": "ready"},
    "problems_list": '<!doctype html><html lang="en">...<h1>Haven problem types</h1>...</html>',
    "problems_get": '<!doctype html><html lang="en">...<h1>Not found</h1>...</html>',
}
"""Where one operation's answer differs from its schema's example (keyed by operation id)."""
