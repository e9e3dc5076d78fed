"""Import every model module so `Base.metadata` is complete (alembic, tests)."""

from models import audit, cases, identity, jobs, keys, referrals
from models.base import Base

metadata = Base.metadata

__all__ = ["audit", "cases", "identity", "jobs", "keys", "metadata", "referrals"]
