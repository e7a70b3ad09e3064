"""CSV export of a filtered lead list: streamed in batches, contact and pipeline columns only
(never health answers), every cell safe to open in a spreadsheet.

The columns, in order (``_columns``): id, created, status, owner, team, source, campaign,
country, region, ms_type, outcome, incomplete, sla_due, first_contacted, first_name, last_name,
email, phone, language. Codes are written as stored (status, source, ms_type, outcome; country
as ISO 3166-1 alpha-2; language as ISO 639-1, "en" or "es"), times as ISO 8601 in UTC, yes/no
for incomplete. The text is UTF-8 (names keep their accents and ñ) and starts with a byte order
mark: without one, Excel reads a CSV in the machine's legacy code page and shows "Muñoz" as
"MuÃ±oz"; LibreOffice, Google Sheets and pandas skip it, and Python reads it as "utf-8-sig".

Fast by construction (bench P7): rows are read as plain tuples through the connection's
streaming cursor (no ORM objects, no per-cell type processing); times and yes/no are written by
the database (``_IsoSeconds``, ``_yes_no``), so a row is written by ``csv.writer`` as it comes;
the formula guard looks once at each distinct text value of a batch, never at ids, times or
yes/no (they cannot start a formula), and rewrites the batch only when one needs it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from itertools import chain
from operator import itemgetter

from sqlalchemy import ColumnElement, Select, String, case, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from intake.extensions import db
from intake.leads.filters import order_by
from intake.models import Lead, StaffUser, Team
from intake.text import PLAIN_STARTS, starts_like_formula

BATCH = 500
BOM = "\ufeff"  # the byte order mark, so that Excel reads the file as UTF-8


class _IsoSeconds(FunctionElement):
    """A UTC time as ``datetime.isoformat(timespec="seconds")`` writes it
    ("2026-03-03T14:00:00+00:00", fractions dropped, not rounded), written by the database."""

    name = "iso_seconds"
    type = String()
    inherit_cache = True


@compiles(_IsoSeconds, "postgresql")
def _iso_seconds_postgresql(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')"


@compiles(_IsoSeconds, "sqlite")
def _iso_seconds_sqlite(element, compiler, **kw) -> str:
    # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (UTCDateTime): cut, never parsed (SQLite's
    # strftime rounds to milliseconds, so 59.9996 s could become the next minute).
    column = compiler.process(element.clauses, **kw)
    return f"(substr({column}, 1, 10) || 'T' || substr({column}, 12, 8) || '+00:00')"


def _yes_no(column: ColumnElement[bool]) -> ColumnElement[str]:
    return case((column.is_(True), "yes"), (column.is_(False), "no"))


def _columns(owner, team) -> list[tuple[str, ColumnElement]]:
    return [
        ("id", Lead.id),
        ("created", _IsoSeconds(Lead.created_at)),
        ("status", Lead.status),
        ("owner", owner.name),
        ("team", team.name),
        ("source", Lead.source),
        ("campaign", Lead.utm_campaign),
        ("country", Lead.country),
        ("region", Lead.region),
        ("ms_type", Lead.ms_type),
        ("outcome", Lead.eligibility_outcome),
        ("incomplete", _yes_no(Lead.incomplete)),
        ("sla_due", _IsoSeconds(Lead.sla_due_at)),
        ("first_contacted", _IsoSeconds(Lead.first_contacted_at)),
        ("first_name", Lead.first_name),
        ("last_name", Lead.last_name),
        ("email", Lead.email),
        ("phone", Lead.phone),
        ("language", Lead.language),
    ]


# The columns the formula guard reads: stored text. Ids, times and yes/no never start a formula.
# Status, country, ms_type, outcome and language are codes from fixed lists, but the database does
# not enforce those lists (an import or an old row could hold anything), and a code costs the
# guard almost nothing (a batch has a handful of distinct ones): they are guarded too.
_GUARDED = (
    "status", "owner", "team", "source", "campaign", "country", "region", "ms_type", "outcome",
    "first_name", "last_name", "email", "phone", "language",
)  # fmt: skip


def export_statement(conditions: list[ColumnElement[bool]], *, sort: str) -> Select:
    """The export's rows: the lead list's conditions and order (the queue's), with owner and
    team names."""
    owner, team = aliased(StaffUser), aliased(Team)
    return (
        select(*(column.label(name) for name, column in _columns(owner, team)))
        .outerjoin(owner, owner.id == Lead.owner_id)
        .outerjoin(team, team.id == Lead.team_id)
        .where(*conditions)
        .order_by(*order_by(sort))
    )


def export_header() -> list[str]:
    """The CSV's column names."""
    return [name for name, _column in _columns(StaffUser, Team)]


def neutralise(value) -> str:
    """The cell as text; one a spreadsheet would read as a formula (after leading spaces, and
    full-width ＝ as =) gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    if not text or text[0] in PLAIN_STARTS:  # most cells: decided without a call
        return text
    return "'" + text if starts_like_formula(text) else text


def _guard(rows: list, texts: itemgetter) -> list:
    """The batch with every text cell that would start a formula given its apostrophe (the same
    rule as ``neutralise``). Each distinct value is looked at once; the rows are rebuilt only
    when one of them needs it, which in real data is almost never."""
    distinct = set(chain.from_iterable(map(texts, rows)))
    unsafe = {
        text: "'" + text
        for text in distinct
        if text and text[0] not in PLAIN_STARTS and starts_like_formula(text)
    }
    if not unsafe:
        return rows
    # Only guarded columns can hold such a text (the others are ints, times and yes/no), so
    # every cell of the row may be looked up.
    return [tuple(map(unsafe.get, row, row)) for row in rows]


def csv_chunks(statement: Select, *, batch: int = BATCH) -> Iterator[str]:
    """The byte order mark and the header, then one chunk of CSV text per batch of rows read
    from a streaming cursor."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    header = export_header()
    texts = itemgetter(*(header.index(name) for name in _GUARDED))
    writer.writerow(header)
    yield BOM + flush()
    # Through the connection: Core rows, no ORM loading. Options on the statement, not on the
    # session's connection (Connection.execution_options would change it in place).
    result = db.session.connection().execute(statement.execution_options(yield_per=batch))
    try:
        for rows in result.partitions():
            writer.writerows(_guard(rows, texts))
            yield flush()
    finally:
        result.close()
