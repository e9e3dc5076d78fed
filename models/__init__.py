"""SQLAlchemy 2 typed models and the engine/session factory. No business rules here."""

from models.base import Base

__all__ = ["Base"]
