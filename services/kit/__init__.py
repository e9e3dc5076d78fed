"""The shared kit: what every listing, versioned record and creating POST needs, written once.

- `pages`: the page type and the page-size policy (`?limit=`, default 50, at most 200).
- `cursor`: keyset cursors (`?cursor=` / `next_cursor`) and the "rows after the cursor" query.
- `versions`: optimistic concurrency (`version`, `ETag`, `If-Match`) and the stale-version answer.
- `idempotency`: `Idempotency-Key` on creating POSTs.

Each module depends only on `models` and `services.errors`, never on a domain, so every domain
(cases, referrals, identity, audit, and whatever comes next) can use it. This package module
imports nothing, so importing one part never drags in the others.
"""
