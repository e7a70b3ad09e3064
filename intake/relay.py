"""The outbox relay: turn committed events into follow-up plans and worker tasks.

At least once: an event is marked published in the same transaction that plans its work, and
the tasks it starts are published before that transaction commits, so a failure to publish
leaves the event to the next run. Everything downstream is idempotent (ledger keys, routing).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update

from intake.extensions import db
from intake.messaging.followups import plan_followups
from intake.models import OutboxEvent

Task = tuple[str, dict]


def _claim(event_id: int, now: datetime) -> bool:
    return (
        db.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id, OutboxEvent.published_at.is_(None))
            .values(published_at=now, attempts=OutboxEvent.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def _handle(event: OutboxEvent, now: datetime) -> list[Task]:
    lead_id, inquiry_id = event.payload["lead_id"], event.payload["inquiry_id"]
    plan_followups(topic=event.topic, lead_id=lead_id, inquiry_id=inquiry_id, now=now)
    return [("routing.route_lead", {"lead_id": lead_id, "trigger": event.topic})]


def relay_outbox(*, now: datetime, limit: int = 200) -> list[Task]:
    """Claim unpublished events (SKIP LOCKED on PostgreSQL, a conditional update everywhere),
    plan their follow-ups, and return the tasks to publish before committing."""
    query = (
        db.select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    tasks: list[Task] = []
    for event in db.session.scalars(query).all():
        if _claim(event.id, now):
            tasks.extend(_handle(event, now))
    return tasks


def outbox_backlog(*, now: datetime) -> dict:
    """How many events wait to be relayed, and for how long the oldest has waited."""
    count, oldest = db.session.execute(
        db.select(func.count(OutboxEvent.id), func.min(OutboxEvent.created_at)).where(
            OutboxEvent.published_at.is_(None)
        )
    ).one()
    age = (now - oldest).total_seconds() if oldest else 0.0
    return {"pending": count, "oldest_age_seconds": round(age, 1)}
