"""A consult's messages with real parts: booked, moved and cancelled through the booking service,
delivered by a real Celery worker process to a real SMTP server. The patient gets exactly one
confirmation, one update and one cancellation, each with its calendar invitation (REQUEST 0,
REQUEST 1, CANCEL 2), and no reminder: the old time's reminders are withdrawn when it moves, and
one that slipped through to the worker anyway (made due and scheduled again by hand) is stopped
by the send-time check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar

from intake import jobs
from intake.consults import booking
from intake.extensions import db
from intake.models import Consult, Send
from intake.models.types import utcnow
from tests.consults.conftest import consult_lead, make_consult_type
from tests.live import wait_until
from tests.workers.conftest import PATIENT, publish

pytestmark = pytest.mark.timeout(180)


def invitation(mail) -> tuple[str, int, str]:
    """The method, sequence and UID of the calendar invitation a message carries."""
    [part] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    assert part.get_param("method") == str(calendar["METHOD"])
    return str(calendar["METHOD"]), int(event["SEQUENCE"]), str(event["UID"])


def sweep_and_wait(app, sink, subject: str):
    """Ask the worker to send what is due; the one message with this subject."""
    publish(app, jobs.SWEEP_SENDS)
    return sink.wait_for(lambda m: m["Subject"] == subject, timeout=30)


def all_finished(app) -> bool:
    """No consult message is waiting or being sent any more."""
    with app.app_context():
        return not db.session.scalars(
            db.select(Send.id).where(
                Send.status.in_(("scheduled", "sending")), Send.due_at <= utcnow()
            )
        ).first()


def test_booking_moving_and_cancelling_send_one_of_each_and_no_reminder(
    worker_app, smtp_sink, start_worker
):
    sink, _url = smtp_sink
    # 10:00 UTC the day after tomorrow: inside the host's hours (08:00-18:00 UTC) whenever the
    # test runs, and more than the minimum notice away.
    start = (utcnow() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    with worker_app.app_context():
        kind, _host = make_consult_type(kind="phone", host_zone="UTC")
        lead = consult_lead()
        consult = booking.book(
            lead=lead, consult_type=kind, starts_at=start, booked_by="staff", actor=None,
            now=utcnow(),
        )  # fmt: skip
        db.session.commit()
        consult_id, uid = consult.id, consult.uid
    start_worker(concurrency=1)

    [confirmation] = sweep_and_wait(worker_app, sink, "Your consultation is booked")
    assert confirmation["To"] == PATIENT and invitation(confirmation) == ("REQUEST", 0, uid)

    with worker_app.app_context():
        consult = db.session.get(Consult, consult_id)
        booking.move(consult=consult, starts_at=start + timedelta(days=1), actor=None, now=utcnow())
        db.session.commit()
    [update] = sweep_and_wait(worker_app, sink, "Your consultation has a new time")
    assert invitation(update) == ("REQUEST", 1, uid)

    with worker_app.app_context():
        booking.cancel(consult=db.session.get(Consult, consult_id), actor=None, now=utcnow())
        # Every reminder, of either time, due now; one of the old time's back in the queue as if
        # its withdrawal had been missed: only the send-time check stands in its way.
        reminders = db.session.scalars(
            db.select(Send).where(
                Send.consult_id == consult_id, Send.template == "consult_reminder"
            )
        ).all()
        assert len(reminders) == 4
        for reminder in reminders:
            reminder.due_at = utcnow() - timedelta(minutes=1)
        slipped = next(r for r in reminders if r.step == 0)
        slipped.status, slipped.finished_reason, slipped.enqueued_at = "scheduled", None, None
        slipped_id = slipped.id
        db.session.commit()
    [cancellation] = sweep_and_wait(worker_app, sink, "Your consultation is cancelled")
    assert invitation(cancellation) == ("CANCEL", 2, uid)

    wait_until(lambda: all_finished(worker_app), timeout=30)
    publish(worker_app, jobs.SWEEP_SENDS)  # one more sweep: still nothing else to send
    wait_until(lambda: all_finished(worker_app), timeout=30)
    with sink.lock:
        subjects = sorted(str(m["Subject"]) for m in sink.messages if m["To"] == PATIENT)
        notices = [str(m["Subject"]) for m in sink.messages if m["To"] != PATIENT]
    # The host hears of each change the patient made (actor None): a link only.
    assert notices == ["A patient changed a consult booking"] * 3
    assert subjects == [
        "Your consultation has a new time",
        "Your consultation is booked",
        "Your consultation is cancelled",
    ]
    with worker_app.app_context():
        reminders = db.session.scalars(
            db.select(Send).where(
                Send.consult_id == consult_id, Send.template == "consult_reminder"
            )
        ).all()
        assert {(r.status, r.finished_reason) for r in reminders} == {("cancelled", "superseded")}
        assert db.session.get(Send, slipped_id).attempts == 1  # the worker did take it, and stopped
