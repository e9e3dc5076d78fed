"""Optimistic concurrency of cases: `If-Match: "<version>"` on every write to a case.

Stale or malformed `If-Match` is 412 and a missing one (where required, `PATCH`) 428: the
contract's answers for `PATCH /cases/{id}`, kept for every case write.
"""

from __future__ import annotations

from services.errors import PreconditionFailed
from services.kit.versions import Versioned

CASE_VERSIONS = Versioned("case", stale=PreconditionFailed, malformed=PreconditionFailed)
