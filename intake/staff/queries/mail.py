"""The mail pages: messages that gave up (dead letters) and the local capture of sent mail."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from intake.extensions import db
from intake.models import CapturedEmail, Lead, Send


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


def captured_page(
    *, before_id: int | None = None, limit: int = 50
) -> tuple[list[CapturedEmail], int | None]:
    """One page of captured mail, newest first, and the ``before`` cursor of the next page."""
    query = select(CapturedEmail).order_by(CapturedEmail.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(CapturedEmail.id < before_id)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


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
