"""Referral workflow."""
