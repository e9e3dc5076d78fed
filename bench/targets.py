"""What the load generators ask for: tokens, (token, case) pairs, names to search, intake bodies.

Tokens are issued fresh for every run (Haven's own `issue_user_token`; the baseline's rows by
SHA-256), so the cached datasets never hold a live credential.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import select

from bench.dataset import case_body, namesake_body, patch_body
from bench.dbutil import libpq_dsn
from models.cases import Case
from models.identity import User
from services.cases.loading import views_of
from services.config import Settings
from services.crypto import Keyring
from services.identity.tokens import issue_user_token

SAMPLE_USERS = 64
CASES_PER_USER = 40


@dataclass
class Targets:
    tokens: dict[uuid.UUID, str]
    """user id → bearer token value"""
    pairs: list[tuple[uuid.UUID, uuid.UUID]]
    """(user id, case id): cases the user owns, shuffled."""
    names: dict[uuid.UUID, str]
    """case id → the child's full name (given then family), for search."""
    versions: dict[uuid.UUID, int] = field(default_factory=dict)
    plan_versions: dict[uuid.UUID, int] = field(default_factory=dict)
    """case id → the plan version last seen (the plan benchmark's If-Match)."""
    intake_bodies: list[bytes] = field(default_factory=list)
    namesake_bodies: list[bytes] = field(default_factory=list)
    """Intake bodies whose children all share one of a handful of full names."""
    patch_bodies: list[bytes] = field(default_factory=list)

    @property
    def users(self) -> list[uuid.UUID]:
        return list(self.tokens)

    def auth(self, user_id: uuid.UUID) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user_id]}"}


def _bodies(seed: int, count: int, make: Any) -> list[bytes]:
    rng = random.Random(seed)
    return [
        json.dumps(make(rng), ensure_ascii=False, separators=(",", ":")).encode()
        for _ in range(count)
    ]


def _sample(rows: list[tuple[uuid.UUID, uuid.UUID]], seed: int) -> list[tuple[Any, Any]]:
    by_user: dict[uuid.UUID, list[uuid.UUID]] = {}
    for case_id, owner in rows:
        by_user.setdefault(owner, []).append(case_id)
    rng = random.Random(seed)
    users = sorted(by_user)
    rng.shuffle(users)
    pairs = []
    for user in users[:SAMPLE_USERS]:
        cases = by_user[user]
        rng.shuffle(cases)
        pairs.extend((user, c) for c in cases[:CASES_PER_USER])
    rng.shuffle(pairs)
    return pairs


def haven_targets(factory: Any, keyring: Keyring, settings: Settings) -> Targets:
    with factory() as session, session.begin():
        rows = [
            (r[0], r[1])
            for r in session.execute(
                select(Case.id, Case.owner_id).where(Case.case_number.like("HVN-%"))
            ).all()
        ]
        pairs = _sample(rows, 11)
        wanted = [c for _, c in pairs]
        cases = session.scalars(select(Case).where(Case.id.in_(wanted))).all()
        names = {}
        for view in views_of(session, keyring, cases):
            child = view.document["child"]
            names[view.case.id] = f"{child['given_name']} {child['family_name']}"
        tokens = {}
        for user_id in sorted({u for u, _ in pairs}):
            user = session.get(User, user_id)
            assert user is not None
            tokens[user_id] = issue_user_token(session, user, settings).value
    return Targets(
        tokens=tokens,
        pairs=pairs,
        names=names,
        intake_bodies=_bodies(101, 3000, case_body),
        namesake_bodies=_bodies(303, 3000, namesake_body),
        patch_bodies=_bodies(202, 500, patch_body),
    )


def baseline_targets(db_name: str) -> Targets:
    with psycopg.connect(libpq_dsn(db_name)) as conn:
        rows = [(r[0], r[1]) for r in conn.execute("SELECT id, owner_id FROM cases").fetchall()]
        pairs = _sample(rows, 11)
        wanted = [c for _, c in pairs]
        names = {
            r[0]: f"{r[1]} {r[2]}"
            for r in conn.execute(
                "SELECT id, given_name, family_name FROM cases WHERE id = ANY(%s)", (wanted,)
            ).fetchall()
        }
        tokens = {}
        expires = datetime.now(UTC) + timedelta(hours=12)
        for user_id in sorted({u for u, _ in pairs}):
            value = "bl_" + secrets.token_urlsafe(32)
            conn.execute(
                "INSERT INTO access_tokens (id, token_hash, user_id, expires_at) "
                "VALUES (%s, %s, %s, %s)",
                (uuid.uuid4(), hashlib.sha256(value.encode()).hexdigest(), user_id, expires),
            )
            tokens[user_id] = value
        conn.commit()
    return Targets(
        tokens=tokens,
        pairs=pairs,
        names=names,
        intake_bodies=_bodies(101, 3000, case_body),
        namesake_bodies=_bodies(303, 3000, namesake_body),
        patch_bodies=_bodies(202, 500, patch_body),
    )


def load_versions(dsn_db: str, targets: Targets) -> None:
    """Current versions of the sampled cases (the update benchmark's If-Match)."""
    ids = [c for _, c in targets.pairs]
    with psycopg.connect(libpq_dsn(dsn_db)) as conn:
        targets.versions = dict(
            conn.execute("SELECT id, version FROM cases WHERE id = ANY(%s)", (ids,)).fetchall()
        )


def baseline_targets_sqlite(engine: Any) -> Targets:
    """`baseline_targets` for the baseline's SQLite copy (through SQLAlchemy, not psycopg)."""
    from bench.baseline.models import AccessToken
    from bench.baseline.models import Case as BaselineCase

    with engine.begin() as conn:
        rows = [
            (r[0], r[1]) for r in conn.execute(select(BaselineCase.id, BaselineCase.owner_id)).all()
        ]
        pairs = _sample(rows, 11)
        wanted = [c for _, c in pairs]
        names = {
            r[0]: f"{r[1]} {r[2]}"
            for r in conn.execute(
                select(BaselineCase.id, BaselineCase.given_name, BaselineCase.family_name).where(
                    BaselineCase.id.in_(wanted)
                )
            ).all()
        }
        tokens = {}
        expires = datetime.now(UTC) + timedelta(hours=12)
        for user_id in sorted({u for u, _ in pairs}):
            value = "bl_" + secrets.token_urlsafe(32)
            conn.execute(
                AccessToken.__table__.insert().values(
                    id=uuid.uuid4(),
                    token_hash=hashlib.sha256(value.encode()).hexdigest(),
                    user_id=user_id,
                    expires_at=expires,
                )
            )
            tokens[user_id] = value
    return Targets(
        tokens=tokens,
        pairs=pairs,
        names=names,
        intake_bodies=_bodies(101, 3000, case_body),
        namesake_bodies=_bodies(303, 3000, namesake_body),
        patch_bodies=_bodies(202, 500, patch_body),
    )


def load_versions_engine(engine: Any, targets: Targets, *, baseline: bool) -> None:
    """`load_versions` through SQLAlchemy (the SQLite copies)."""
    from bench.baseline.models import Case as BaselineCase

    table = BaselineCase if baseline else Case
    ids = [c for _, c in targets.pairs]
    with engine.connect() as conn:
        targets.versions = {
            r[0]: r[1]
            for r in conn.execute(select(table.id, table.version).where(table.id.in_(ids))).all()
        }
