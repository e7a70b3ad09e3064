"""The whole pipeline with real parts: an inquiry is confirmed by email, routed and its owner
notified; cadence steps fire at their (injected) times; an unsubscribe stops a queued step;
quiet hours hold. PostgreSQL and SQLite, Redis, Celery worker processes, an SMTP server."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.extensions import db
from intake.messaging.unsubscribe import unsubscribe_token
from intake.models import Lead, RoutingDecision, Send, StaffUser
from intake.models.types import utcnow
from tests.conftest import complete_inquiry
from tests.live import wait_until
from tests.workers.conftest import (
    PATIENT,
    add_coordinator,
    first_nurture_step_due_now,
    publish,
    sends,
    the_lead,
    zone_where_it_is,
)

pytestmark = pytest.mark.timeout(180)


def mail_for(sink, rows: list[Send]) -> list:
    """The messages sent for these ledger rows (each carries a hash of its ledger key)."""
    keys = {hashlib.sha256(row.key.encode()).hexdigest() for row in rows}
    with sink.lock:
        return [
            m for m in sink.messages if str(m["X-Intake-Idempotency-Key"] or "").strip() in keys
        ]


def a_patient_who_agreed_to_follow_ups(app) -> Lead:
    """A coordinator to route to, and a completed inquiry whose patient agreed to email and to
    follow-ups; the patient's lead."""
    add_coordinator(app)
    complete_inquiry(app.test_client(), consent={"consent_email": "y", "consent_follow_up": "y"})
    return the_lead(app)


def test_an_inquiry_is_confirmed_routed_and_its_owner_notified(worker_app, smtp_sink, start_worker):
    sink, _ = smtp_sink
    staff_id = add_coordinator(worker_app)
    start_worker(beat=True)

    complete_inquiry(
        worker_app.test_client(), about_ms={"dmt_name": "Canarimab"}, consent={"consent_email": "y"}
    )

    [confirmation] = sink.wait_for(lambda m: m["To"] == PATIENT)
    body = confirmation.get_body(("plain",)).get_content()
    assert "Canarimab" not in body and "RRMS" not in body and "eligib" not in body.lower()
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [notice] = sink.wait_for(lambda m: m["To"] == "coordinator@clinic.example")
    notice_text = notice.get_body(("plain",)).get_content()
    lead = the_lead(worker_app)
    assert f"https://intake.test/staff/leads/{lead.id}" in notice_text
    assert "Byron" not in notice_text and PATIENT not in notice_text
    assert lead.owner_id == staff_id
    with worker_app.app_context():
        decision = db.session.scalars(db.select(RoutingDecision)).first()
    assert "round robin" in decision.reason
    # The worker records "sent" just after the SMTP server's reply, so the row may lag the mail.
    wait_until(lambda: [s.status for s in sends(worker_app, "confirmation")] == ["sent"])


def test_cadence_steps_fire_at_their_times_and_only_once(worker_app, smtp_sink, start_worker):
    sink, _ = smtp_sink
    a_patient_who_agreed_to_follow_ups(worker_app)
    publish(worker_app, "outbox.relay")
    start_worker()
    wait_until(lambda: len(sends(worker_app, "nurture")) == 4)
    planned = sends(worker_app, "nurture")
    first_due = planned[0].due_at
    assert timedelta(hours=20) < first_due - utcnow() < timedelta(days=2)  # day 1, in daytime

    lead_id = the_lead(worker_app).id
    # The clock moves on: step 1 is now due, in the patient's daytime. One commit, so a sweep
    # the worker runs meanwhile never meets a due step in quiet hours (it would move it on).
    with worker_app.app_context():
        db.session.get(Lead, lead_id).time_zone = zone_where_it_is(13)
        db.session.get(Send, planned[0].id).due_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    publish(worker_app, "periodic.sweep_sends")
    publish(worker_app, "periodic.sweep_sends")  # a second sweep (two beats) changes nothing

    wait_until(lambda: mail_for(sink, planned))
    time.sleep(2)
    assert len(mail_for(sink, planned)) == 1
    assert mail_for(sink, planned)[0]["To"] == PATIENT
    assert [s.status for s in sends(worker_app, "nurture")] == [
        "sent",
        "scheduled",
        "scheduled",
        "scheduled",
    ]


def test_an_unsubscribe_while_a_step_is_queued_stops_it(worker_app, smtp_sink, start_worker):
    sink, _ = smtp_sink
    lead = a_patient_who_agreed_to_follow_ups(worker_app)
    step_id = first_nurture_step_due_now(worker_app, lead, zone=zone_where_it_is(13))
    publish(worker_app, "email.deliver", send_ids=[step_id])  # queued, no worker running yet

    with worker_app.app_context():
        token = unsubscribe_token(lead.id)
    response = worker_app.test_client().post(
        f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    start_worker()

    wait_until(lambda: sends(worker_app, "nurture")[0].status == "cancelled")
    assert all(s.status == "cancelled" for s in sends(worker_app, "nurture"))
    time.sleep(2)
    assert mail_for(sink, sends(worker_app, "nurture")) == []


def test_a_delivery_task_queued_before_rows_were_batched_is_still_delivered(
    worker_app, smtp_sink, start_worker
):
    """An upgrade can find tasks of the old shape in Redis: one ``send_id`` each."""
    sink, _ = smtp_sink
    lead = a_patient_who_agreed_to_follow_ups(worker_app)
    step_id = first_nurture_step_due_now(worker_app, lead, zone=zone_where_it_is(13))
    publish(worker_app, "email.deliver", send_id=step_id)
    start_worker()

    wait_until(lambda: sends(worker_app, "nurture")[0].status == "sent")
    assert len(mail_for(sink, sends(worker_app, "nurture")[:1])) == 1


def test_quiet_hours_hold_a_due_step_until_the_patients_morning(
    worker_app, smtp_sink, start_worker
):
    sink, _ = smtp_sink
    lead = a_patient_who_agreed_to_follow_ups(worker_app)
    zone = zone_where_it_is(3)
    first_nurture_step_due_now(worker_app, lead, zone=zone)
    start_worker()
    publish(worker_app, "periodic.sweep_sends")

    wait_until(lambda: sends(worker_app, "nurture")[0].due_at > utcnow())
    held = sends(worker_app, "nurture")[0]
    assert held.status == "scheduled"
    assert held.due_at.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "08:00"
    assert mail_for(sink, sends(worker_app, "nurture")) == []


def test_the_staff_digest_goes_once_a_day_however_often_it_is_planned(
    worker_app, smtp_sink, start_worker
):
    sink, _ = smtp_sink
    add_coordinator(worker_app)
    start_worker()
    publish(worker_app, "periodic.staff_digest")
    publish(worker_app, "periodic.staff_digest")

    sink.wait_for(lambda m: m["To"] == "coordinator@clinic.example")
    time.sleep(2)
    assert len(sink.to("coordinator@clinic.example")) == 1
    with worker_app.app_context():
        assert db.session.scalar(db.select(StaffUser.id)) is not None
