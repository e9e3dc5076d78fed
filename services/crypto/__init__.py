"""Envelope encryption, keyring, blind indexes, signatures: the only importer of `cryptography`."""
