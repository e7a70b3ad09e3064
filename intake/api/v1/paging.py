"""Keyset pages: an opaque cursor holding the last row's sort value and id."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from flask import current_app
from flask_smorest import abort

from intake.ids import MAX_ID


def page_size(limit: int | None) -> int:
    config = current_app.config
    return min(limit or config["INTAKE_API_PAGE_SIZE"], config["INTAKE_API_MAX_PAGE_SIZE"])


def encode_cursor(kind: str, value, row_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([kind, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str, *, dated: bool = True) -> tuple | None:
    """(value, id) from a cursor made for ``kind``; 400 for anything else."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, value, row_id = json.loads(raw)
        if made_for != kind or not isinstance(row_id, int) or not 0 < row_id <= MAX_ID:
            raise ValueError(kind)
        if value is not None and dated:
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError("naive")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        abort(400, message="The cursor is not one this API gave for this list.")
    return value, row_id
