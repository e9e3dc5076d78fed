"""Wrapped data keys (one per case) and keyring rotation state. (Issue 4, crypto.)"""
