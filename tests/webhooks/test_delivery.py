"""R10 and S-webhook on both databases, against a real HTTP receiver on loopback that checks
every signature with the Standard Webhooks library: signed deliveries, a receiver that fails
(500, then a timeout) and recovers, retried with backoff, one recorded success; redirects not
followed; dead deliveries retried by an admin; a worker that died mid-delivery.

The receiver's library checks the ``webhook-timestamp`` against the real clock (five minutes
either way), so the tests that count what it verified start their clock at the real time and
move it by hand (each time they assert is relative to that start); the others run at ``NOW``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from intake.extensions import db
from intake.leads.pipeline import change_status
from intake.models import OutboxEvent, WebhookDelivery
from intake.models.types import utcnow
from intake.webhooks import delivery
from intake.webhooks.endpoints import EndpointData, create_endpoint
from intake.webhooks.events import EVENT_TYPES
from tests.conftest import text_of
from tests.factories import NOW, make_lead, make_staff
from tests.webhooks.support import deliver, receiver_on_loopback, relay, row


def subscribe(receiver, events=EVENT_TYPES, now=None) -> int:
    admin = make_staff("admin")
    data = EndpointData(url=receiver.url, description="CRM", events=tuple(events))
    endpoint, secret = create_endpoint(data=data, actor=admin, allow_private=True, now=now)
    db.session.commit()
    receiver.secret = secret
    return endpoint.id


def one_status_change(now) -> list[int]:
    lead = make_lead(status="new")
    db.session.commit()
    change_status(lead=lead, to="contacted", reason=None, actor=None, now=now)
    db.session.commit()
    return relay(now)


def test_each_delivery_is_signed_and_verifies_with_the_specification_library(ctx):
    now = utcnow()
    with receiver_on_loopback() as receiver:
        subscribe(receiver, now=now)
        (delivery_id,) = one_status_change(now)
        assert deliver(delivery_id, now) == "succeeded"
    ((headers, body, verified),) = receiver.received
    sent = row(delivery_id)
    assert verified == sent.payload and verified["type"] == "lead.status_changed"
    assert headers["webhook-id"] == sent.message_id and headers["webhook-timestamp"] == str(
        int(now.timestamp())
    )
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    assert (sent.status, sent.attempts, sent.last_status_code) == ("succeeded", 1, 204)


def test_a_failing_then_hanging_receiver_is_retried_with_backoff_until_one_success(
    app_factory, sign_in
):
    app = app_factory(INTAKE_WEBHOOK_TIMEOUT=1)
    t0 = utcnow()
    with app.app_context(), receiver_on_loopback(["500", "hang"], hang_seconds=2) as receiver:
        endpoint_id = subscribe(receiver, now=t0)
        (delivery_id,) = one_status_change(t0)
        assert deliver(delivery_id, t0) == "retry"
        first = row(delivery_id)
        assert (first.attempts, first.last_status_code, first.last_error) == (1, 500, "HTTP 500")
        assert t0 + timedelta(seconds=10) <= first.next_attempt_at <= t0 + timedelta(seconds=11)
        assert deliver(delivery_id, t0 + timedelta(seconds=5)) == "skipped"  # not due yet
        assert delivery.due_delivery_ids(now=t0 + timedelta(seconds=5)) == []
        t1 = first.next_attempt_at
        assert delivery.due_delivery_ids(now=t1) == [delivery_id]
        assert deliver(delivery_id, t1) == "retry"
        second = row(delivery_id)
        assert (second.attempts, second.last_status_code, second.last_error) == (2, None, "timeout")
        assert t1 + timedelta(seconds=60) <= second.next_attempt_at <= t1 + timedelta(seconds=66)
        # The failures are visible to admins on the endpoint's page.
        admin = sign_in(app.test_client(), _admin_id())
        shown = text_of(admin.get(f"/staff/admin/webhooks/{endpoint_id}"))
        assert "timeout" in shown and "Waiting to retry" in shown
        t2 = second.next_attempt_at
        assert deliver(delivery_id, t2) == "succeeded"
        assert deliver(delivery_id, t2 + timedelta(hours=1)) == "skipped"
        successes = db.session.scalar(
            select(func.count()).where(WebhookDelivery.status == "succeeded")
        )
    assert successes == 1 and row_status(app, delivery_id) == ("succeeded", 3)
    ids = {headers["webhook-id"] for headers, _, _ in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1  # one message id across retries
    assert len(receiver.verified) == 3  # every attempt was signed, the failed ones too


def _admin_id() -> int:
    user = make_staff("admin")
    db.session.commit()
    return user.id


def row_status(app, delivery_id):
    with app.app_context():
        found = row(delivery_id)
        return found.status, found.attempts


def test_relaying_an_event_twice_adds_no_second_delivery(ctx):
    with receiver_on_loopback() as receiver:
        subscribe(receiver, now=NOW)
        (delivery_id,) = one_status_change(NOW)
        event = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()[-1]
        assert delivery.fan_out(event=event, now=NOW) == []
        db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_redirect_is_a_failure_and_is_never_followed(ctx):
    with receiver_on_loopback(["302"]) as receiver:
        subscribe(receiver, now=NOW)
        (delivery_id,) = one_status_change(NOW)
        assert deliver(delivery_id, NOW) == "retry"
    assert len(receiver.received) == 1 and row(delivery_id).last_error == "HTTP 302"


def test_after_the_last_try_a_delivery_is_dead_until_an_admin_retries_it(app_factory):
    app = app_factory(INTAKE_WEBHOOK_MAX_ATTEMPTS=2)
    with app.app_context(), receiver_on_loopback(["500", "500"]) as receiver:
        subscribe(receiver, now=NOW)
        (delivery_id,) = one_status_change(NOW)
        assert deliver(delivery_id, NOW) == "retry"
        assert deliver(delivery_id, row(delivery_id).next_attempt_at) == "dead"
        later = NOW + timedelta(minutes=2)
        assert delivery.due_delivery_ids(now=later + timedelta(days=1)) == []
        assert delivery.retry_dead(delivery_id=delivery_id, now=later)
        db.session.commit()
        assert deliver(delivery_id, later) == "succeeded"
        assert (row(delivery_id).status, row(delivery_id).attempts) == ("succeeded", 1)


def test_a_worker_that_died_mid_delivery_leaves_it_to_be_claimed_again(ctx):
    now = utcnow()
    with receiver_on_loopback() as receiver:
        subscribe(receiver, now=now)
        (delivery_id,) = one_status_change(now)
        assert delivery.claim_delivery(delivery_id=delivery_id, now=now)
        db.session.commit()  # ... and the worker is killed before it posts
        soon = now + timedelta(seconds=5)
        assert not delivery.claim_delivery(delivery_id=delivery_id, now=soon)
        timeout = timedelta(seconds=ctx.config["INTAKE_SEND_CLAIM_TIMEOUT"])
        assert delivery.due_delivery_ids(now=soon) == []
        assert delivery.due_delivery_ids(now=now + timeout + timedelta(seconds=1)) == [delivery_id]
        # The broker redelivers the task at once: it may take the row without waiting.
        assert delivery.claim_delivery(delivery_id=delivery_id, now=soon, redelivered=True)
        db.session.commit()
        assert delivery.attempt_delivery(delivery_id=delivery_id, now=soon) == "succeeded"
        db.session.commit()
    assert len(receiver.verified) == 1 and row(delivery_id).attempts == 2


def test_backoff_grows_and_is_capped(ctx):
    waits = [delivery.backoff(n, jitter=0).total_seconds() for n in range(1, 10)]
    assert waits == [10, 60, 300, 1800, 7200, 21600, 43200, 43200, 43200]
    assert 10 <= delivery.backoff(1).total_seconds() <= 11


def test_the_sweep_hands_a_due_row_over_once_until_it_is_stale(ctx):
    with receiver_on_loopback() as receiver:
        subscribe(receiver, now=NOW)
        (delivery_id,) = one_status_change(NOW)
    assert delivery.due_delivery_ids(now=NOW) == [delivery_id]
    assert delivery.due_delivery_ids(now=NOW + timedelta(seconds=10)) == []  # already queued
    later = NOW + timedelta(seconds=ctx.config["INTAKE_SEND_REENQUEUE_AFTER"] + 1)
    assert delivery.due_delivery_ids(now=later) == [delivery_id]  # that task was lost


def test_a_row_abandoned_on_its_last_try_is_dead(app_factory):
    app = app_factory(INTAKE_WEBHOOK_MAX_ATTEMPTS=1)
    with app.app_context(), receiver_on_loopback() as receiver:
        subscribe(receiver, now=NOW)
        (delivery_id,) = one_status_change(NOW)
        assert delivery.claim_delivery(delivery_id=delivery_id, now=NOW)
        db.session.commit()  # the worker dies here
        after = NOW + timedelta(seconds=app.config["INTAKE_SEND_CLAIM_TIMEOUT"] + 1)
        assert delivery.due_delivery_ids(now=after) == []
        db.session.commit()
        assert (row(delivery_id).status, row(delivery_id).last_error) == (
            "dead", "worker lost mid-delivery")  # fmt: skip
    assert receiver.received == []
