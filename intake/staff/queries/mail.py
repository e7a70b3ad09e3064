"""The mail pages: messages that gave up (dead letters) and the local capture of sent mail and
texts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select

from intake.extensions import db
from intake.models import CapturedEmail, CapturedText, Lead, Send


def dead_sends(*, limit: int = 200) -> list[Send]:
    """Ledger rows that gave up, newest first."""
    return list(
        db.session.scalars(
            select(Send).where(Send.status == "dead").order_by(Send.id.desc()).limit(limit)
        )
    )


def count_dead_sends() -> int:
    """How many ledger rows gave up and wait for a person."""
    return db.session.scalar(select(func.count(Send.id)).where(Send.status == "dead")) or 0


def find_send(send_id: int) -> Send | None:
    return db.session.get(Send, send_id)


def _newest_first(model, before_id: int | None, limit: int) -> tuple[list, int | None]:
    """One page of captured rows of ``model``, newest first, and the ``before`` cursor of the
    next page."""
    query = select(model).order_by(model.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(model.id < before_id)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def captured_page(
    *, before_id: int | None = None, limit: int = 50
) -> tuple[list[CapturedEmail], int | None]:
    """One page of captured mail, newest first, and the ``before`` cursor of the next page."""
    return _newest_first(CapturedEmail, before_id, limit)


def find_captured(message_id: int) -> CapturedEmail | None:
    return db.session.get(CapturedEmail, message_id)


def leads_for_address(address: str) -> list[int]:
    """The leads a captured message went to (their own or their caregiver's address)."""
    address = address.strip().lower()
    return list(
        db.session.scalars(
            select(Lead.id)
            .where(or_(Lead.email == address, func.lower(Lead.caregiver_email) == address))
            .order_by(Lead.id)
        )
    )


def captured_texts_page(
    *, before_id: int | None = None, limit: int = 50
) -> tuple[list[CapturedText], int | None]:
    """One page of captured texts, newest first, and the ``before`` cursor of the next page."""
    return _newest_first(CapturedText, before_id, limit)


def leads_for_numbers(numbers: Iterable[str]) -> dict[str, list[int]]:
    """The leads each captured text went to (their own or their caregiver's phone, E.164)."""
    numbers = sorted(set(numbers))
    found: dict[str, list[int]] = {number: [] for number in numbers}
    if not numbers:
        return found
    rows = db.session.execute(
        select(Lead.id, Lead.phone, Lead.caregiver_phone)
        .where(or_(Lead.phone.in_(numbers), Lead.caregiver_phone.in_(numbers)))
        .order_by(Lead.id)
    )
    for lead_id, phone, caregiver_phone in rows:
        for number in {phone, caregiver_phone} & found.keys():
            found[number].append(lead_id)
    return found
