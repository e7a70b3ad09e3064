"""Recording webhook events in the caller's transaction, as outbox events whose topic is the
event type (``intake.webhooks.events`` says which exist and what they carry)."""

from __future__ import annotations

from datetime import datetime

from intake import jobs
from intake.models import ConversationMessage, LeadEvent
from intake.webhooks.events import LEAD_EVENT_TYPES


def record_for_lead_event(event: LeadEvent, *, now: datetime) -> None:
    """Record the webhook event a timeline event stands for (if any), in the same transaction."""
    topic = LEAD_EVENT_TYPES.get(event.kind)
    if topic is not None:
        jobs.record_event(topic=topic, now=now, lead_id=event.lead_id, lead_event_id=event.id)


def record_owner_routed(*, lead_id: int, owner_id, previous_owner_id, now: datetime) -> None:
    """Routing gave the lead a different owner (or none)."""
    jobs.record_event(topic="lead.owner_changed", now=now, lead_id=lead_id,
                      owner_id=owner_id, previous_owner_id=previous_owner_id)  # fmt: skip


def record_reply(*, message: ConversationMessage, now: datetime) -> None:
    """A patient's reply was recorded on the lead's thread."""
    jobs.record_event(topic="reply.received", now=now, lead_id=message.lead_id,
                      reply_id=message.id)  # fmt: skip
