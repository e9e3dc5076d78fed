"""Case intake, search, workflow, notes, erasure."""
