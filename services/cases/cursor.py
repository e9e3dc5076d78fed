"""Opaque keyset cursors: base64url JSON of the last row's sort key and id."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from models.base import in_supported_range
from services.errors import InvalidInput

CURSOR_LOC: tuple[str | int, ...] = ("query", "cursor")


def encode_cursor(order: str, at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps({"o": order, "t": at.isoformat(), "i": str(row_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, order: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(data, dict) or data.get("o") != order:
            raise ValueError("cursor of another listing")
        stamp, row_id = data["t"], data["i"]
        if not isinstance(stamp, str) or not isinstance(row_id, str):
            raise ValueError("cursor values of the wrong type")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("naive time")
        if not in_supported_range(at):
            # Our own cursors never hold such a time; converting it to UTC could overflow.
            raise ValueError("time out of range")
        return at, uuid.UUID(row_id)
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as error:
        raise InvalidInput.field(
            CURSOR_LOC, "Not a cursor from this listing; start again without it."
        ) from error
