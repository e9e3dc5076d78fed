"""Need-to-know oversight: restricted cases' access lists, break-glass access and its review,
bulk-read alerts."""
