"""Referrals: a case's request to a partner agency for one service, and the partner's work on it.

The value sets live in `enums.py`, the state machine in `states.py` (one table of moves) and
`effects.py` (what each move writes), the two views of a referral in `views.py`; the use cases
each in the module of its purpose, all importable from `service.py`. This package module stays
empty so that importing the value sets (the policy does) never pulls in the use cases.
"""
