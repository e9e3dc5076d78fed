"""Haven's benchmark suite (`make bench`): Haven against a plaintext baseline, same run.

Not product code: nothing under `api/`, `services/` or `models/` imports from here.
"""
