"""Cases, notes, blind-index tokens, idempotency records, erasure tombstones. (Issue 4.)"""
