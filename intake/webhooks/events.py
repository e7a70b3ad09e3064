"""Which webhook events exist, what causes each, and what its payload holds: the one place.

An event is never a new write: each comes from a row its change already writes in its own
transaction. The inquiry's own outbox events give ``lead.created`` (a first inquiry that made a
new lead) and ``inquiry.completed``; the other changes record an outbox event whose topic is the
event type (``intake.webhooks.emit``: beside a timeline event, a routing decision, a reply).
The relay turns a committed outbox event into delivery rows (``intake.webhooks.delivery``).

Payloads carry ids and non-health fields only: never a name, contact detail, answer,
eligibility reason or message text, and never a free-text reason a member of staff typed."""

from __future__ import annotations

from datetime import datetime

from intake.extensions import db
from intake.models import ConversationMessage, LeadEvent, OutboxEvent

EVENT_TYPES = (
    "lead.created",
    "inquiry.completed",
    "lead.status_changed",
    "lead.owner_changed",
    "consult.booked",
    "consult.changed",
    "reply.received",
)
TEST_EVENT = "webhook.test"

# Timeline events that are also webhook events, and the event each becomes.
LEAD_EVENT_TYPES = {
    "status_changed": "lead.status_changed",
    "assigned": "lead.owner_changed",
    "consult_scheduled": "consult.booked",
    "consult_moved": "consult.changed",
    "consult_cancelled": "consult.changed",
    "consult_done": "consult.changed",
    "consult_no_show": "consult.changed",
}
# Keys of a status change's data that are plain facts ("consult", "reply", "routing"...).
_CAUSES = ("cause", "by")


def event_type(event: OutboxEvent) -> str | None:
    """The webhook event an outbox event announces, or None (no query)."""
    if event.topic == "inquiry.started":
        return "lead.created" if event.payload.get("new_lead") else None
    return event.topic if event.topic in EVENT_TYPES else None


def payload_for(kind: str, event: OutboxEvent) -> dict:
    """The body sent for ``event``: its type, when it happened, and its ids and plain facts."""
    return {"type": kind, "timestamp": stamp(event.created_at), "data": _data(kind, event.payload)}


def test_payload(*, endpoint_id: int, now: datetime) -> dict:
    """The body of an admin's "send a test event"."""
    return {"type": TEST_EVENT, "timestamp": stamp(now), "data": {"endpoint_id": endpoint_id}}


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _data(kind: str, ids: dict) -> dict:
    lead = {"lead_id": ids["lead_id"]}
    if kind in ("lead.created", "inquiry.completed"):
        status = {"status": "new"} if kind == "lead.created" else {}
        return {**lead, "inquiry_id": ids["inquiry_id"], **status}
    if kind == "reply.received":
        message = db.session.get(ConversationMessage, ids["reply_id"])
        return {
            **lead,
            "reply_id": ids["reply_id"],
            "channel": message.channel if message else None,
        }
    if "lead_event_id" not in ids:  # routing: the owners travel in the outbox event itself
        return {**lead, "owner_id": ids.get("owner_id"),
                "previous_owner_id": ids.get("previous_owner_id"), "by": "routing"}  # fmt: skip
    row = db.session.get(LeadEvent, ids["lead_event_id"])
    facts = row.data if row is not None else {}
    return {**lead, **_from_lead_event(kind, row.kind if row else "", facts)}


def _from_lead_event(kind: str, row_kind: str, facts: dict) -> dict:
    if kind == "lead.status_changed":
        causes = {key: facts[key] for key in _CAUSES if isinstance(facts.get(key), str)}
        return {"status": facts.get("to"), "previous_status": facts.get("from"), **causes}
    if kind == "lead.owner_changed":
        return {"owner_id": facts.get("to"), "previous_owner_id": facts.get("from"), "by": "staff"}
    consult = {"consult_id": facts.get("consult_id"), "starts_at": facts.get("at")}
    if kind == "consult.booked":
        return {**consult, "booked_by": facts.get("by")}
    return {**consult, "change": row_kind.removeprefix("consult_"), "by": facts.get("by")}
