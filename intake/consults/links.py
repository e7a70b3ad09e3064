"""The patient's booking link: a signed token naming the lead, the consult type and when the
link stops working. It holds no name or contact detail; the page it opens shows only times.

An invitation's link works for INTAKE_CONSULT_LINK_DAYS; the link in a confirmation works
until the consult starts (moving or cancelling closes earlier, at the cut-off)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from intake.links import absolute_url, link_serializer

MAX_TOKEN_LENGTH = 300


@dataclass(frozen=True)
class BookingLink:
    lead_id: int
    consult_type_id: int
    expires_at: datetime


def _serializer() -> URLSafeSerializer:
    return link_serializer("intake.consult-booking")


def booking_token(*, lead_id: int, consult_type_id: int, expires_at: datetime) -> str:
    return _serializer().dumps([lead_id, consult_type_id, int(expires_at.timestamp())])


def invitation_token(*, lead_id: int, consult_type_id: int, now: datetime) -> str:
    """A link to choose a time, working for INTAKE_CONSULT_LINK_DAYS from ``now`` and on to the
    end of that day (UTC): every link made for the lead on one day is the same, so a message
    previewed in the morning and sent in the afternoon is the message previewed."""
    days = current_app.config["INTAKE_CONSULT_LINK_DAYS"]
    last_day = now.astimezone(UTC).date() + timedelta(days=days + 1)
    return booking_token(
        lead_id=lead_id,
        consult_type_id=consult_type_id,
        expires_at=datetime.combine(last_day, time(), tzinfo=UTC),
    )


def booking_url(token: str, language: str) -> str:
    return absolute_url("public.consult_booking", token=token, lang=language)


def read_booking_token(token: str, *, now: datetime) -> BookingLink | None:
    """What a genuine, unexpired token names; None for anything else."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        lead_id, type_id, expires = _serializer().loads(token)
    except (BadData, ValueError, TypeError):
        return None
    if not all(type(value) is int and value > 0 for value in (lead_id, type_id, expires)):
        return None
    expires_at = datetime.fromtimestamp(expires, UTC)
    return BookingLink(lead_id, type_id, expires_at) if now < expires_at else None
