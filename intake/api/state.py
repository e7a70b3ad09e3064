"""State metrics, read at scrape time: the outbox backlog, the send ledger, leads past their
first-contact deadline, staff tasks, consults, webhook deliveries and the broker's queues
(README: Metrics).

Each entry of ``STATE_GAUGES`` is a named function of ``now`` that yields metric families and
runs at most one cheap aggregate statement; ``StateCollector`` calls them all on each scrape. To
add a metric, write one more function with ``@state_gauge("name")``.
A function that fails (any error) is logged by its name and the error's class only, rolled
back and left out of that scrape (``intake_state_errors`` counts them); the scrape answers.

Labels come from fixed sets only (statuses, channels, queue names): never a value a patient or
a member of staff typed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from flask import current_app
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import case, func, select

from intake.extensions import db
from intake.jobs import outbox_backlog
from intake.models import CLOSED, SEND_STATUSES, Consult, Lead, Send, StaffTask, WebhookDelivery
from intake.models.conversation import CHANNELS
from intake.models.types import utcnow
from intake.routing.sla import DUE_SOON, sla_condition

logger = logging.getLogger(__name__)

StateGauge = Callable[[datetime], Iterable[Metric]]
STATE_GAUGES: dict[str, StateGauge] = {}
OTHER = "other"  # a stored value outside the fixed set (never shown as itself)
BROKER_TIMEOUT = 0.5  # seconds: a scrape never waits long on a broker that is gone


def state_gauge(name: str) -> Callable[[StateGauge], StateGauge]:
    """Register the decorated function as the state metric ``name``."""

    def add(function: StateGauge) -> StateGauge:
        STATE_GAUGES[name] = function
        return function

    return add


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _known(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else OTHER


@state_gauge("outbox")
def outbox(now: datetime) -> Iterator[Metric]:
    backlog = outbox_backlog(now=now)
    yield gauge("intake_outbox_pending", "Outbox events waiting to be relayed.", backlog["pending"])
    yield gauge(
        "intake_outbox_oldest_age_seconds",
        "How long the oldest waiting outbox event has waited (0 when none waits).",
        backlog["oldest_age_seconds"],
    )


@state_gauge("sends")
def sends(now: datetime) -> Iterator[Metric]:
    counts = {(status, channel): 0 for status in SEND_STATUSES for channel in CHANNELS}
    query = select(Send.status, Send.channel, func.count()).group_by(Send.status, Send.channel)
    for status, channel, count in db.session.execute(query):
        key = (_known(status, SEND_STATUSES), _known(channel, CHANNELS))
        counts[key] = counts.get(key, 0) + count
    by_status = GaugeMetricFamily(
        "intake_sends",
        "Messages in the send ledger, by status and channel.",
        labels=("status", "channel"),
    )
    dead = GaugeMetricFamily(
        "intake_sends_dead",
        "Dead letters: messages given up on after their last attempt, by channel.",
        labels=("channel",),
    )
    for (status, channel), count in sorted(counts.items()):
        by_status.add_metric((status, channel), count)
        if status == "dead":
            dead.add_metric((channel,), count)
    yield by_status
    yield dead


def _total(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@state_gauge("sla")
def sla(now: datetime) -> Iterator[Metric]:
    query = select(
        _total(sla_condition("breached", now)), _total(sla_condition("due_soon", now))
    ).where(Lead.status.not_in(CLOSED), Lead.sla_due_at.is_not(None))
    breached, due_soon = db.session.execute(query).one()
    yield gauge(
        "intake_leads_sla_breached",
        "Open leads not yet contacted and past their first-contact deadline.",
        breached,
    )
    yield gauge(
        "intake_leads_sla_due_soon",
        f"Open leads not yet contacted whose deadline is within {DUE_SOON.seconds // 60} minutes.",
        due_soon,
    )


@state_gauge("tasks")
def tasks(now: datetime) -> Iterator[Metric]:
    query = select(func.count(), _total(StaffTask.due_at <= now)).where(StaffTask.status == "open")
    open_count, overdue = db.session.execute(query).one()
    yield gauge("intake_tasks_open", "Open staff tasks (call backs and follow ups).", open_count)
    yield gauge("intake_tasks_overdue", "Open staff tasks past their due time.", overdue)


@state_gauge("consults")
def consults(now: datetime) -> Iterator[Metric]:
    query = select(func.count(), _total(Consult.starts_at < now + timedelta(days=1))).where(
        Consult.status == "booked", Consult.starts_at >= now
    )
    upcoming, next_day = db.session.execute(query).one()
    yield gauge("intake_consults_upcoming", "Booked consults yet to start.", upcoming)
    yield gauge(
        "intake_consults_next_24h", "Booked consults starting in the next 24 hours.", next_day
    )


@state_gauge("webhooks")
def webhooks(now: datetime) -> Iterator[Metric]:
    """Deliveries not yet done with: waiting (and, of those, retrying after a failure), being
    sent, and dead (given up on after the last attempt; an admin can retry them)."""
    waiting = WebhookDelivery.status == "pending"
    query = select(
        _total(waiting),
        _total(waiting & (WebhookDelivery.attempts > 0)),
        _total(WebhookDelivery.status == "sending"),
        _total(WebhookDelivery.status == "dead"),
    ).where(WebhookDelivery.status != "succeeded")
    pending, retrying, sending, dead = db.session.execute(query).one()
    by_status = GaugeMetricFamily(
        "intake_webhook_deliveries",
        "Webhook deliveries not yet succeeded, by status (pending, sending, dead).",
        labels=("status",),
    )
    for status, count in (("pending", pending), ("sending", sending), ("dead", dead)):
        by_status.add_metric((status,), count)
    yield by_status
    yield gauge(
        "intake_webhook_deliveries_failing",
        "Pending webhook deliveries whose last attempt failed (waiting for their retry).",
        retrying,
    )


def broker_queues(celery: dict) -> tuple[str, ...]:
    """The Celery queues tasks are routed to (the task routes and the default queue)."""
    routed = {route["queue"] for route in celery.get("task_routes", {}).values()}
    return tuple(sorted(routed | {celery.get("task_default_queue", "celery")}))


@state_gauge("broker")
def broker(now: datetime) -> Iterator[Metric]:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return  # the embedded broker (SQLite): nothing to count here
    import redis  # only with Redis configured: the embedded set-up never loads the client

    queues = broker_queues(current_app.config["CELERY"])
    depth = GaugeMetricFamily(
        "intake_broker_queue_length", "Tasks waiting in each Celery queue.", labels=("queue",)
    )
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
        )
        with client, client.pipeline(transaction=False) as pipe:
            for name in queues:
                pipe.llen(name)
            lengths = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("metrics: broker unavailable", extra={"error": type(exc).__name__})
        yield gauge("intake_broker_up", "1 when the broker (Redis) answered this scrape.", 0)
        return
    yield gauge("intake_broker_up", "1 when the broker (Redis) answered this scrape.", 1)
    for name, length in zip(queues, lengths, strict=True):
        depth.add_metric((name,), length)
    yield depth


class StateCollector:
    """Runs every ``STATE_GAUGES`` function at scrape time (in the app context)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or utcnow()
        failed = 0
        for name, function in STATE_GAUGES.items():
            try:
                families = list(function(now))
            except Exception as exc:  # noqa: BLE001 (one bad gauge must not fail the scrape)
                # The error's class only: a database error's text can quote a row's values.
                logger.warning(
                    "metrics: state gauge failed",
                    extra={"gauge": name, "error": type(exc).__name__},
                )
                db.session.rollback()
                failed += 1
                continue
            yield from families
        yield gauge(
            "intake_state_errors", "State metrics left out of this scrape (see the log).", failed
        )
