"""CSV export of a filtered lead list: streamed in batches, contact and pipeline columns only
(never health answers), every cell safe to open in a spreadsheet.

The columns, in order (``_columns``): id, created, status, owner, team, source, campaign,
country, region, ms_type, outcome, incomplete, sla_due, first_contacted, first_name, last_name,
email, phone, language. Codes are written as stored (status, source, ms_type, outcome; country
as ISO 3166-1 alpha-2; language as ISO 639-1, "en" or "es"), times as ISO 8601 in UTC, yes/no
for incomplete. The text is UTF-8 (names keep their accents and ñ) and starts with a byte order
mark: without one, Excel reads a CSV in the machine's legacy code page and shows "Muñoz" as
"MuÃ±oz"; LibreOffice, Google Sheets and pandas skip it, and Python reads it as "utf-8-sig"."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import aliased

from intake.extensions import db
from intake.leads.filters import order_by
from intake.models import Lead, StaffUser, Team
from intake.text import PLAIN_STARTS, starts_like_formula

BATCH = 500
BOM = "\ufeff"  # the byte order mark, so that Excel reads the file as UTF-8


def _columns(owner, team) -> list[tuple[str, ColumnElement]]:
    return [
        ("id", Lead.id),
        ("created", Lead.created_at),
        ("status", Lead.status),
        ("owner", owner.name),
        ("team", team.name),
        ("source", Lead.source),
        ("campaign", Lead.utm_campaign),
        ("country", Lead.country),
        ("region", Lead.region),
        ("ms_type", Lead.ms_type),
        ("outcome", Lead.eligibility_outcome),
        ("incomplete", Lead.incomplete),
        ("sla_due", Lead.sla_due_at),
        ("first_contacted", Lead.first_contacted_at),
        ("first_name", Lead.first_name),
        ("last_name", Lead.last_name),
        ("email", Lead.email),
        ("phone", Lead.phone),
        ("language", Lead.language),
    ]


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

    writer.writerow(export_header())
    yield BOM + flush()
    result = db.session.execute(statement.execution_options(yield_per=batch))
    try:
        for rows in result.partitions():
            writer.writerows([neutralise(value) for value in row] for row in rows)
            yield flush()
    finally:
        result.close()
