"""Operator jobs over the data keys: KEK rotation (`rotation.py`) and the handover of a file
keyring to a PKCS#11 token (`handover.py`), both run by `haven keys`.

They sit above `services.crypto` (they drive the keyring) and `services.audit` (each step is
recorded in the log), so the crypto package itself never imports the audit log that it signs.
"""
