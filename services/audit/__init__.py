"""The tamper-evident audit log: append (chained at commit), verify, checkpoints."""

from services.audit.context import RequestMeta, current_request, request_scope
from services.audit.log import (
    Actor,
    Served,
    actor_for,
    anonymous,
    install_chain_hook,
    record,
    record_refusal,
)

__all__ = [
    "Actor",
    "RequestMeta",
    "Served",
    "actor_for",
    "anonymous",
    "current_request",
    "install_chain_hook",
    "record",
    "record_refusal",
    "request_scope",
]
