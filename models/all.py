"""Import every model module so `Base.metadata` is complete (alembic, tests)."""

from models import access, audit, cases, casework, identity, jobs, keys, referrals, tracing
from models.base import Base

metadata = Base.metadata

__all__ = [
    "access",
    "audit",
    "cases",
    "casework",
    "identity",
    "jobs",
    "keys",
    "metadata",
    "referrals",
    "tracing",
]
