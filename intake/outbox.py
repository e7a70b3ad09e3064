"""Recording events in the outbox, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from intake.extensions import db
from intake.models import OutboxEvent


def record_event(*, topic: str, now: datetime, **ids: int) -> OutboxEvent:
    """Queue an event for the workers; it is published only once the caller commits."""
    event = OutboxEvent(topic=topic, payload=ids, created_at=now)
    db.session.add(event)
    return event
