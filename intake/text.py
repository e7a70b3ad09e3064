"""Text at the edges: what is taken out of every typed value before it is kept, and the test
that keeps a spreadsheet from running an exported cell as a formula."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Control characters but tab, newline and carriage return (a NUL would break PostgreSQL).
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
# Characters that are invisible yet reorder or hide text ("Trojan Source" spoofing of names and
# notes): the Arabic letter mark, the Mongolian vowel separator, zero-width spaces, non-joiners
# and joiners, the directional marks, embeddings, overrides and isolates, the word joiner and
# invisible operators, the deprecated format controls, the byte-order mark (a zero-width
# no-break space), interlinear annotations and the tag characters.
INVISIBLE = (
    "\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f"
)
_UNWANTED = re.compile(f"[{_CONTROL}{INVISIBLE}]")


def clean_text(value: Any) -> Any:
    """Drop control and invisible formatting characters, compose accents (NFC: an "n" and a
    combining tilde, as some keyboards send them, become one "ñ"), then trim; other values
    unchanged. Composed, a name is stored, searched and counted the same however it was typed."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", _UNWANTED.sub("", value)).strip()
    return value


_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f]")  # every control character, tab and newline too


def clean_line(value: Any) -> Any:
    """One line of text: ``clean_text``, and no line breaks or tabs either."""
    if isinstance(value, str):
        return clean_text(_LINE_BREAKS.sub("", value))
    return value


# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Most cells start with one of these, and need no closer look.
PLAIN_STARTS = frozenset(map(chr, range(0x21, 0x7F))) - set("=+-@")
# Leading characters a spreadsheet may skip: whitespace but tab and CR, and invisible ones.
_SKIPPED = re.compile(rf"(?:[^\S\t\r]|[{INVISIBLE}])+")


def starts_like_formula(text: str) -> bool:
    """Would a spreadsheet run this cell? Its first character after leading spaces and invisible
    characters, in compatibility form (full-width ＝ is =), is one of FORMULA_STARTS."""
    if not text or text[0] in PLAIN_STARTS:
        return False
    if text.startswith(FORMULA_STARTS):
        return True
    skipped = _SKIPPED.match(text)
    first = text[skipped.end() : skipped.end() + 1] if skipped else text[:1]
    return unicodedata.normalize("NFKC", first)[:1] in FORMULA_STARTS if first else False
