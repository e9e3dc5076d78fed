"""Insider-risk alerts: tracking who opens which records it does not own, and the `bulk_read`
alerts raised when someone opens too many within an hour."""
