"""The one hand-off to the workers: task names, the outbox, publishing, and the nudge.

Work is recorded as an outbox event in the caller's own transaction (``record_event``). A worker
relays committed events (``relay_outbox``): it plans their follow-ups and returns what should
happen next as small events (``RouteLead``, ``DeliverEmail``), which ``publish`` turns into
Celery tasks; only this module knows the task names and their arguments. After a response, web
code calls ``relay_soon`` to nudge a worker to relay at once; beat relays every 10 s anyway.

The nudge is posted to one small background thread per web process, so no request ever waits on
the broker: if Redis is down or frozen, only that thread waits (and then rests).

At least once: an event is marked published in the same transaction that plans its work, and the
tasks it starts are published before that transaction commits, so a failure to publish leaves the
event to the next run. Everything downstream is idempotent (ledger keys, routing).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from flask import current_app
from kombu.exceptions import OperationalError
from sqlalchemy import func, update

from intake.extensions import db
from intake.messaging.followups import plan_followups
from intake.models import OutboxEvent
from intake.webhooks import delivery as webhook_delivery

logger = logging.getLogger(__name__)

# --- Task names, as they travel on the wire (workers/ registers a task under each) ------------

RELAY_OUTBOX = "outbox.relay"
ROUTE_LEAD = "routing.route_lead"
DELIVER_EMAIL = "email.deliver"
SWEEP_SENDS = "periodic.sweep_sends"
ROUTE_UNROUTED = "periodic.route_unrouted"
ASSIGN_HELD_LEADS = "periodic.assign_held_leads"
SWEEP_SLA = "periodic.sweep_sla"
SWEEP_TASKS = "periodic.sweep_tasks"
STAFF_DIGEST = "periodic.staff_digest"
PURGE_RETENTION = "periodic.purge_retention"
SWEEP_REPLIES = "periodic.sweep_replies"
CHECK_IMPORT = "imports.check"
RUN_IMPORT = "imports.run"
SWEEP_IMPORTS = "periodic.sweep_imports"
DELIVER_WEBHOOK = "webhooks.deliver"
SWEEP_WEBHOOKS = "periodic.sweep_webhooks"

# --- What services hand over, and the task each becomes ---------------------------------------


@dataclass(frozen=True)
class RouteLead:
    """Give the lead an owner; ``trigger`` is the outbox topic that asked for it."""

    lead_id: int
    trigger: str


@dataclass(frozen=True)
class DeliverEmail:
    """Claim, check, send and record ledger rows, one after another, each on its own."""

    send_ids: tuple[int, ...]


@dataclass(frozen=True)
class CheckImport:
    """Run (or start over) the dry run of an import job."""

    job_id: int


@dataclass(frozen=True)
class RunImport:
    """Import an import job's pending rows, a batch per transaction."""

    job_id: int


@dataclass(frozen=True)
class DeliverWebhook:
    """Claim, sign, post and record one webhook delivery row."""

    delivery_id: int


Event = RouteLead | DeliverEmail | CheckImport | RunImport | DeliverWebhook
_TASKS: dict[type, str] = {
    RouteLead: ROUTE_LEAD,
    DeliverEmail: DELIVER_EMAIL,
    CheckImport: CHECK_IMPORT,
    RunImport: RUN_IMPORT,
    DeliverWebhook: DELIVER_WEBHOOK,
}
# The inquiry's own events: they plan follow-ups and routing. Every event may also be a webhook.
INQUIRY_TOPICS = ("inquiry.started", "inquiry.completed")


# A sweep's due rows go out a few to a task, so the broker's work per message (a worker's main
# process receives and acks each one) is shared by several. Rows are spread over at least
# EMAIL_SPREAD tasks, so every pool process of a worker (four by default) gets some, and a
# task carries at most EMAIL_BATCH: a handful of due rows still go one to a task, at once.
EMAIL_BATCH, EMAIL_SPREAD = 10, 8


def email_deliveries(send_ids: Sequence[int]) -> list[DeliverEmail]:
    """The tasks that deliver ``send_ids`` (in the order they fall due), dealt out as cards
    are: the first row to the first task, the second to the second, and so on, so the
    earliest rows each start a task and run at once, side by side, and rows that go slowly (or
    end at once) are spread over the tasks rather than queued behind one another."""
    size = max(1, min(EMAIL_BATCH, len(send_ids) // EMAIL_SPREAD))
    tasks = -(-len(send_ids) // size)  # rounded up
    return [DeliverEmail(send_ids=tuple(send_ids[first::tasks])) for first in range(tasks)]


def task_for(event: Event) -> tuple[str, dict]:
    """The task name and keyword arguments that carry ``event`` to a worker."""
    return _TASKS[type(event)], asdict(event)


def publish(events: Iterable[Event]) -> int:
    """Send a task for each event to the broker (raises if it cannot); how many were sent."""
    celery = current_app.extensions["celery"]
    sent = 0
    for event in events:
        name, kwargs = task_for(event)
        celery.send_task(name, kwargs=kwargs)
        sent += 1
    return sent


# --- The outbox --------------------------------------------------------------------------------


def record_event(*, topic: str, now: datetime, **ids: int | None) -> OutboxEvent:
    """Queue an event for the workers; it is relayed only once the caller commits."""
    event = OutboxEvent(topic=topic, payload=ids, created_at=now)
    db.session.add(event)
    return event


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


def _handle(event: OutboxEvent, now: datetime) -> list[Event]:
    planned: list[Event] = [
        DeliverWebhook(delivery_id=delivery_id)
        for delivery_id in webhook_delivery.fan_out(event=event, now=now)
    ]
    if event.topic in INQUIRY_TOPICS:
        lead_id, inquiry_id = event.payload["lead_id"], event.payload["inquiry_id"]
        plan_followups(topic=event.topic, lead_id=lead_id, inquiry_id=inquiry_id, now=now)
        planned.append(RouteLead(lead_id=lead_id, trigger=event.topic))
    return planned


def relay_outbox(*, now: datetime, limit: int = 200) -> list[Event]:
    """Claim unpublished events (SKIP LOCKED on PostgreSQL, a conditional update everywhere),
    plan their follow-ups, and return the events to publish before committing."""
    query = (
        db.select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events: list[Event] = []
    for event in db.session.scalars(query).all():
        if _claim(event.id, now):
            events.extend(_handle(event, now))
    return events


def outbox_backlog(*, now: datetime) -> dict:
    """How many events wait to be relayed, and for how long the oldest has waited."""
    count, oldest = db.session.execute(
        db.select(func.count(OutboxEvent.id), func.min(OutboxEvent.created_at)).where(
            OutboxEvent.published_at.is_(None)
        )
    ).one()
    age = (now - oldest).total_seconds() if oldest else 0.0
    return {"pending": count, "oldest_age_seconds": round(age, 1)}


# --- The nudge after a response ----------------------------------------------------------------

REST_AFTER_FAILURE = 30.0
# After a nudge, nudges for the next moment are gathered into one: a relay publishes every event
# waiting, so a busy web worker asks for one relay per window, not one per request. A quarter of
# a second is nothing beside the minute a confirmation may take (PRODUCT.md), and a nudge with
# none before it is still sent at once; each one sent costs its web worker about 1.4 ms of CPU
# (a Celery message built and published), 3 % of a busy worker's time at a window of 50 ms
# (py-spy, benchmark P1).
GATHER_SECONDS = 0.25
_nudges: queue.SimpleQueue = queue.SimpleQueue()
_started_in: int | None = None
_start_lock = threading.Lock()


def _nudger() -> None:
    while True:
        celery = _nudges.get()
        while not _nudges.empty():  # many nudges waiting are worth one relay
            celery = _nudges.get()
        try:
            celery.send_task(RELAY_OUTBOX, retry=False)
        except (OperationalError, OSError) as error:
            logger.warning(
                "outbox nudge failed; the periodic relay will catch up",
                extra={"error": type(error).__name__},
            )
            time.sleep(REST_AFTER_FAILURE)
        else:
            time.sleep(GATHER_SECONDS)


def relay_soon() -> None:
    """Ask a worker to relay the outbox now, without waiting for the broker."""
    global _started_in
    with _start_lock:
        if _started_in != os.getpid():  # after a fork (gunicorn), each process starts its own
            threading.Thread(target=_nudger, name="outbox-nudge", daemon=True).start()
            _started_in = os.getpid()
    _nudges.put(current_app.extensions["celery"])
