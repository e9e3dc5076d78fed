"""Referrals and partner updates. (Issue 6.)"""
