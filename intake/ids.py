"""Ids from outside (paths, forms, query strings), bounded to what an id column holds, so a
number beyond it is "not found" instead of a database error."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, ValidationError

# PostgreSQL INTEGER, the type of every id a URL, form or query string names. (The only BIGINT
# id, the outbox event's, is never in one.)
MAX_ID = 2**31 - 1
_MAX_DIGITS = len(str(MAX_ID))


class IdConverter(IntegerConverter):
    """``<int:…>`` on every route: ASCII digits from 0 to MAX_ID; anything else is a 404."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if len(value) > _MAX_DIGITS:  # before int(): a 10,000-digit path costs nothing
            raise ValidationError()
        return super().to_python(value)


def parse_id(raw: object) -> int | None:
    """A row id from a form or query string, or None when the text cannot name a row."""
    text = str(raw)
    if not (0 < len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
