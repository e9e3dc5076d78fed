"""Use cases and every rule. Nothing here imports FastAPI."""
