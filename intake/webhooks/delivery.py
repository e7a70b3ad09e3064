"""The delivery ledger: fan an event out to its subscribers, claim, sign, post, retry, give up.

At least once, with one recorded success: each (endpoint, event) is one row whose
``message_id`` (the ``webhook-id``) never changes, so a receiver can drop a repeat. A worker
claims a row with a conditional UPDATE and commits the claim before it posts; a worker killed
mid-post leaves the row ``sending``, and the sweep claims it again once the claim has timed out
(at once when the broker redelivers the task), so the receiver may see that message twice but
the ledger records one success. Retries wait with exponential backoff and jitter (10 s, 1 min,
5 min, 30 min, 2 h, 6 h, then 12 h) in ``next_attempt_at``; the periodic sweep picks them up,
never a long countdown on the broker. After ``INTAKE_WEBHOOK_MAX_ATTEMPTS`` the row is dead,
listed for admins, who may retry it."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import and_, or_, update

from intake.extensions import db, dialect_insert
from intake.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from intake.webhooks import events
from intake.webhooks.addresses import AddressRefused, resolve
from intake.webhooks.endpoints import signing_secret

if TYPE_CHECKING:
    from intake.webhooks.transport import Outcome

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = (10, 60, 300, 1800, 7200, 21600, 43200)
JITTER = 0.1  # up to 10 % later, so failing deliveries do not retry in step


def backoff(attempts: int, *, jitter: float | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failed try."""
    base = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
    if jitter is None:
        jitter = secrets.randbelow(1001) / 1000 * JITTER
    return timedelta(seconds=base * (1 + jitter))


def _claim_timeout() -> timedelta:
    return timedelta(seconds=current_app.config["INTAKE_SEND_CLAIM_TIMEOUT"])


def _reenqueue_after() -> timedelta:
    return timedelta(seconds=current_app.config["INTAKE_SEND_REENQUEUE_AFTER"])


# --- From an event to ledger rows (the outbox relay calls this) -------------------------------


def fan_out(*, event: OutboxEvent, now: datetime) -> list[int]:
    """One pending row per active endpoint subscribed to the event this outbox event announces;
    the new rows' ids. Relaying the same event twice adds nothing."""
    kind = events.event_type(event)
    if kind is None:
        return []
    endpoint_ids = [e.id for e in _active_endpoints() if kind in (e.events or ())]
    if not endpoint_ids:
        return []
    return _insert_rows(endpoint_ids, f"msg_{event.id}", kind, events.payload_for(kind, event), now)


def _active_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(db.select(WebhookEndpoint).where(WebhookEndpoint.active)))


def _insert_rows(endpoint_ids, message_id: str, kind: str, payload: dict, now) -> list[int]:
    rows = [{"endpoint_id": endpoint_id, "message_id": message_id, "event_type": kind,
             "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": now,
             "created_at": now} for endpoint_id in endpoint_ids]  # fmt: skip
    inserted = db.session.execute(
        dialect_insert()(WebhookDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "message_id"])
        .returning(WebhookDelivery.id)
    )
    return [row[0] for row in inserted]


def queue_test(*, endpoint: WebhookEndpoint, now: datetime) -> int:
    """A test event for one endpoint, delivered like any other; its row's id."""
    payload = events.test_payload(endpoint_id=endpoint.id, now=now)
    message_id = f"msg_test_{secrets.token_hex(8)}"
    return _insert_rows([endpoint.id], message_id, events.TEST_EVENT, payload, now)[0]


# --- Claiming and sending one row --------------------------------------------------------------


def due_delivery_ids(*, now: datetime, limit: int = 200) -> list[int]:
    """Rows whose (re)try is due, and rows whose worker vanished mid-send, not handed to a
    worker lately (so a backlog is not queued again every run); marks them handed. A vanished
    worker's row that had used its last try is dead instead."""
    stale = now - _claim_timeout()
    query = (
        db.select(WebhookDelivery.id)
        .where(
            or_(
                and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
                and_(WebhookDelivery.status == "sending", WebhookDelivery.claimed_at < stale),
            ),
            or_(
                WebhookDelivery.enqueued_at.is_(None),
                WebhookDelivery.enqueued_at < now - _reenqueue_after(),
            ),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if not ids:
        return []
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "sending",
               WebhookDelivery.attempts >= current_app.config["INTAKE_WEBHOOK_MAX_ATTEMPTS"])
        .values(status="dead", last_error="worker lost mid-delivery")
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status != "dead")
        .values(enqueued_at=now)
        .execution_options(synchronize_session=False)
    )
    return list(
        db.session.scalars(
            db.select(WebhookDelivery.id)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status != "dead")
            .order_by(WebhookDelivery.id)
        )
    )


def claim_delivery(*, delivery_id: int, now: datetime, redelivered: bool = False) -> bool:
    """Take the row for this attempt (True) unless it is not due, done, or held by a live
    worker. A task the broker redelivered (its worker died) may take a ``sending`` row at once."""
    stale = now if redelivered else now - _claim_timeout()
    claimable = or_(
        and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
        and_(WebhookDelivery.status == "sending", WebhookDelivery.claimed_at <= stale),
    )
    return (
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, claimable)
            .values(status="sending", claimed_at=now, attempts=WebhookDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def attempt_delivery(*, delivery_id: int, now: datetime) -> str:
    """Check the address again, sign and post a claimed row, and record what happened:
    "succeeded", "retry" or "dead"."""
    # Only workers post: the HTTP stack stays out of the web processes that fan events out.
    from intake.webhooks.transport import Outcome, body_of, post, signed_headers

    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None or delivery.status != "sending":
        return "skipped"
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    if not endpoint.active:
        return _finish(delivery, Outcome(None, "endpoint disabled"), now, give_up=True)
    config = current_app.config
    try:
        destination = resolve(endpoint.url, allow_private=config["INTAKE_WEBHOOK_ALLOW_PRIVATE"])
    except AddressRefused:
        return _finish(delivery, Outcome(None, "address refused"), now)
    body = body_of(delivery.payload)
    headers = signed_headers(secret=signing_secret(endpoint), message_id=delivery.message_id,
                             body=body, now=now)  # fmt: skip
    outcome = post(
        destination, body=body, headers=headers, timeout=config["INTAKE_WEBHOOK_TIMEOUT"]
    )
    return _finish(delivery, outcome, now)


def _finish(delivery: WebhookDelivery, outcome: Outcome, now: datetime, *, give_up=False) -> str:
    """Record the attempt, only while this worker still holds the claim."""
    if outcome.succeeded:
        state, values = "succeeded", {"status": "succeeded", "succeeded_at": now}
    elif give_up or delivery.attempts >= current_app.config["INTAKE_WEBHOOK_MAX_ATTEMPTS"]:
        state, values = "dead", {"status": "dead"}
    else:
        state = "retry"
        values = {"status": "pending", "next_attempt_at": now + backoff(delivery.attempts),
                  "enqueued_at": None}  # fmt: skip
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            WebhookDelivery.status == "sending",
            WebhookDelivery.claimed_at == delivery.claimed_at,
        )  # fmt: skip
        .values(last_status_code=outcome.status_code, last_error=outcome.error, **values)
        .execution_options(synchronize_session=False)
    )
    logger.info("webhook delivery %s attempt %s: %s (%s)", delivery.id, delivery.attempts, state,
                outcome.error or outcome.status_code)  # fmt: skip
    return state


def retry_dead(*, delivery_id: int, now: datetime) -> bool:
    """An admin asked to try a dead delivery again: due now, with a fresh count of tries."""
    return (
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "dead")
            .values(
                status="pending", attempts=0, next_attempt_at=now, claimed_at=None, enqueued_at=None
            )  # fmt: skip
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
