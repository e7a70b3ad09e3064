"""Which rows of a batch could overlap a lead at all, in three queries for the whole batch.

``find_overlaps`` (the form's own rule, two queries) is asked only for a row whose email or
phone some lead holds (in its columns or on record), or an earlier row of the same batch gave:
for any other row it would find nothing, so the answer is the same, at a fraction of the
round trips (a 50,000-row file is mostly new people)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, tuple_

from intake.extensions import db
from intake.imports.rows import CheckedRow
from intake.models import Lead, LeadContact


def reach(row: CheckedRow) -> set[tuple[str, str]]:
    """The row's (kind, value) for its email and phone."""
    return {(kind, row.values[kind]) for kind in ("email", "phone") if row.values.get(kind)}


def held_values(rows: Iterable[CheckedRow]) -> set[tuple[str, str]]:
    """Which of these rows' emails and phones any lead holds, now or on record."""
    wanted = set().union(*(reach(row) for row in rows))
    if not wanted:
        return set()
    emails = [value for kind, value in wanted if kind == "email"]
    phones = [value for kind, value in wanted if kind == "phone"]
    held = set()
    if emails:
        held |= {
            ("email", v)
            for v in db.session.scalars(select(Lead.email).where(Lead.email.in_(emails)))
        }
    if phones:
        held |= {
            ("phone", v)
            for v in db.session.scalars(select(Lead.phone).where(Lead.phone.in_(phones)))
        }
    held |= set(
        db.session.execute(
            select(LeadContact.kind, LeadContact.value).where(
                tuple_(LeadContact.kind, LeadContact.value).in_(list(wanted))
            )
        ).all()
    )
    return held
