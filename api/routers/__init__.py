"""One router per resource; `api/app.py` mounts them under `/api/v1`."""
