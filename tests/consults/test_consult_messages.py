"""A consult's messages at send time, on both databases: each row is checked again (an old
time's message never goes, nor one to a patient who stopped contact or consent, nor a reminder
after the start, nor an invitation to book again once they have), goes at once even at night (a
reminder is bound to its time) unless it is an invitation to book again, and arrives in the
patient's language and time zone with the calendar invitation attached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from bs4 import BeautifulSoup
from icalendar import Calendar

from intake.consults import booking
from intake.consults.messages import send_time_stop
from intake.extensions import db
from intake.messaging.delivery import claim_send, finish_send
from intake.messaging.mail import render_message
from intake.models import CapturedEmail, ConsultType, Lead, Send
from tests.conftest import empty_tables
from tests.consults.conftest import ADDRESS, VIDEO_URL, consult_lead, make_consult_type
from tests.factories import NOW, make_staff, record_consent
from tests.messaging.conftest import Recorder, smtp_server
from tests.security import canary

BASE = "http://127.0.0.1:5000"
STARTS = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # Thursday 10:00 in New York (EST)
MOVED = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # Tuesday 10:00 in New York (EDT)
HEALTH_WORDS = ("multiple sclerosis", "ms type", "relapsing", "eligib", "answers", "diagnos")


def book(kind: str = "video", **lead_fields):
    consult_type, _host = make_consult_type(kind=kind)
    lead = consult_lead(**lead_fields)
    return booking.book(
        lead=lead, consult_type=consult_type, starts_at=STARTS, booked_by="staff", actor=None,
        now=NOW,
    )  # fmt: skip


def rows(consult, template: str | None = None) -> list[Send]:
    query = db.select(Send).where(Send.consult_id == consult.id).order_by(Send.id)
    if template:
        query = query.where(Send.template == template)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def deliver(send: Send, at: datetime) -> str:
    """As the delivery task does: claim and commit, then finish and commit."""
    assert claim_send(send_id=send.id, now=at)
    db.session.commit()
    outcome = finish_send(send_id=send.id, now=at, commit=db.session.commit)
    db.session.commit()
    return outcome


def test_a_message_of_the_old_time_claimed_before_a_move_is_not_sent(consult_app):
    consult = book()
    [confirmation] = rows(consult, "consult_confirmation")
    assert claim_send(send_id=confirmation.id, now=NOW)  # a worker has it in hand...
    booking.move(consult=consult, starts_at=MOVED, actor=None, now=NOW)  # ...when staff move it
    db.session.commit()
    assert finish_send(send_id=confirmation.id, now=NOW, commit=db.session.commit) == "cancelled"
    assert confirmation.finished_reason == "superseded"


def test_cancelling_withdraws_the_reminders_and_only_the_cancellation_goes(consult_app):
    consult = book()
    booking.cancel(consult=consult, actor=None, now=NOW)
    db.session.commit()
    reminders = rows(consult, "consult_reminder")
    assert len(reminders) == 2
    assert {(r.status, r.finished_reason) for r in reminders} == {("cancelled", "superseded")}
    [cancellation] = rows(consult, "consult_cancellation")
    assert send_time_stop(cancellation, NOW) is None
    assert deliver(cancellation, NOW) == "sent"


def test_a_reminder_due_after_the_consult_began_is_too_late(consult_app):
    consult = book()
    reminder = rows(consult, "consult_reminder")[-1]
    assert send_time_stop(reminder, STARTS - timedelta(minutes=1)) is None
    assert send_time_stop(reminder, STARTS) == "too_late"


def test_nothing_goes_to_a_patient_who_asked_not_to_be_contacted(consult_app):
    consult = book()
    [confirmation] = rows(consult, "consult_confirmation")
    db.session.get(Lead, consult.lead_id).status = "do_not_contact"
    db.session.commit()
    assert deliver(confirmation, NOW) == "cancelled"
    assert confirmation.finished_reason == "do_not_contact"


def test_nothing_goes_once_email_consent_is_withdrawn(consult_app):
    consult = book()
    record_consent(db.session.get(Lead, consult.lead_id), "contact_email", granted=False, at=NOW)
    db.session.commit()
    [confirmation] = rows(consult, "consult_confirmation")
    assert deliver(confirmation, NOW + timedelta(seconds=1)) == "cancelled"
    assert confirmation.finished_reason == "no_consent"


def test_the_invitation_to_book_again_stops_once_the_patient_has_a_new_time(consult_app):
    consult = book()
    after = STARTS + timedelta(hours=1)
    staff = make_staff()
    booking.record_outcome(consult=consult, outcome="no_show", actor=staff, now=after)
    first, _second = rows(consult, "consult_rebook")
    assert send_time_stop(first, after) is None
    booking.book(
        lead=db.session.get(Lead, consult.lead_id),
        consult_type=db.session.get(ConsultType, consult.consult_type_id),
        starts_at=MOVED, booked_by="patient", actor=None, now=after,
    )  # fmt: skip
    assert send_time_stop(first, after) == "rebooked"


def test_a_reminder_goes_at_night_and_an_invitation_to_book_again_waits_for_morning(consult_app):
    consult = book()  # Ada is in New York
    night = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)  # 03:00 in New York, 7 hours before
    reminder = rows(consult, "consult_reminder")[0]
    reminder.due_at = night - timedelta(minutes=1)
    db.session.commit()
    assert deliver(reminder, night) == "sent"

    booking.record_outcome(
        consult=consult, outcome="no_show", actor=make_staff(), now=STARTS + timedelta(hours=1)
    )
    first = rows(consult, "consult_rebook")[0]
    next_night = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)
    first.due_at = next_night
    db.session.commit()
    assert deliver(first, next_night) == "deferred"
    assert first.status == "scheduled"
    assert first.due_at == datetime(2026, 3, 6, 13, 0, tzinfo=UTC)  # 08:00 in New York


def test_the_confirmation_is_captured_with_its_invitation_named(consult_app):
    consult = book()
    [confirmation] = rows(consult, "consult_confirmation")
    assert deliver(confirmation, NOW) == "sent"
    captured = db.session.scalars(db.select(CapturedEmail)).one()
    assert captured.headers["X-Intake-Attachments"].startswith(
        "invite.ics (text/calendar; method=REQUEST; charset=UTF-8, "
    )


def test_over_smtp_the_invitation_is_a_calendar_part_with_its_method(consult_app):
    consult_app.config["SMTP_URL"] = None
    consult = book()
    booking.cancel(consult=consult, actor=None, now=NOW)
    db.session.commit()
    [cancellation] = rows(consult, "consult_cancellation")
    recorder = Recorder()
    with smtp_server(recorder) as server:
        consult_app.config["SMTP_URL"] = f"smtp://{server.hostname}:{server.port}"
        assert deliver(cancellation, NOW) == "sent"
    [envelope] = recorder.envelopes
    mail = message_from_bytes(envelope.content, policy=policy.default)
    [part] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "CANCEL" and part.get_filename() == "invite.ics"
    [event] = Calendar.from_ical(part.get_content()).walk("VEVENT")
    assert int(event["SEQUENCE"]) == 1 and str(event["UID"]) == consult.uid
    assert mail.get_body(("plain",)).get_content().count("cancelled") >= 1


@pytest.mark.parametrize(
    ("language", "subject", "when", "kind_words"),
    [
        ("en", "Your consultation is booked", "Thursday, March 5, 2026 at 10:00\u202fAM",
         "It is a video call."),
        ("es", "Su consulta está reservada", "jueves, 5 de marzo de 2026 a las 10:00",
         "Es una videollamada."),
    ],
)  # fmt: skip
def test_the_confirmation_reads_in_the_patients_language_and_time(
    consult_app, language, subject, when, kind_words
):
    consult = book(language=language)
    [confirmation] = rows(consult, "consult_confirmation")
    message = render_message(send=confirmation, now=NOW)
    assert message.subject == subject
    assert when in message.text and kind_words in message.text and VIDEO_URL in message.text
    assert "Maria" in message.text and "Lopez" not in message.text  # the host's first name
    assert f"{BASE}/consult/" in message.text and f"lang={language}" in message.text
    assert message.headers["List-Unsubscribe"] and message.headers["Reply-To"]
    soup = BeautifulSoup(message.html, "html.parser")
    assert soup.html["lang"] == language
    assert all(a["href"].startswith(BASE + "/") or a["href"] == VIDEO_URL for a in soup("a"))
    for word in HEALTH_WORDS:
        assert word not in (message.text + message.html).lower()
    [attachment] = message.attachments
    [event] = Calendar.from_ical(attachment.data).walk("VEVENT")
    assert str(event["SUMMARY"]) == ("Consultation with the clinic" if language == "en" else (
        "Consulta con la clínica"))  # fmt: skip


def test_each_kind_says_how_the_consult_happens_and_the_reminder_has_no_invitation(
    consult_app,
):
    phone = book(kind="phone")
    [confirmation] = rows(phone, "consult_confirmation")
    assert "We will call you at that time." in render_message(send=confirmation, now=NOW).text
    db.session.rollback()
    empty_tables(consult_app)
    in_person = book(kind="in_person")
    reminder = rows(in_person, "consult_reminder")[0]
    message = render_message(send=reminder, now=NOW)
    assert ADDRESS in message.text and message.subject == "A reminder of your consultation"
    assert message.attachments == ()


def test_moving_and_cancelling_say_so_with_a_new_sequence(consult_app):
    consult = book(language="es")
    booking.move(consult=consult, starts_at=MOVED, actor=None, now=NOW)
    [update] = rows(consult, "consult_update")
    message = render_message(send=update, now=NOW)
    assert message.subject == "Su consulta tiene una nueva hora"
    assert "martes, 10 de marzo de 2026 a las 10:00" in message.text  # after the clock change
    [event] = Calendar.from_ical(message.attachments[0].data).walk("VEVENT")
    assert int(event["SEQUENCE"]) == 1
    booking.cancel(consult=consult, actor=None, now=NOW)
    [cancellation] = rows(consult, "consult_cancellation")
    message = render_message(send=cancellation, now=NOW)
    assert message.subject == "Su consulta está cancelada"
    assert "method=CANCEL" in message.attachments[0].content_type
    assert f"{BASE}/consult/" in message.text  # to choose a new time


@pytest.mark.parametrize(
    ("language", "subject", "invite"),
    [
        ("en", "Choose a new time for your consultation", "you can choose a new time here:"),
        ("es", "Elija una nueva hora para su consulta", "puede elegir una nueva hora aquí:"),
    ],
)
def test_after_a_no_show_the_patient_is_invited_to_choose_a_new_time(
    consult_app, language, subject, invite
):
    consult = book(language=language)
    after = STARTS + timedelta(hours=1)
    booking.record_outcome(consult=consult, outcome="no_show", actor=make_staff(), now=after)
    first = rows(consult, "consult_rebook")[0]
    message = render_message(send=first, now=after + timedelta(days=1))
    assert message.subject == subject and invite in message.text
    assert f"{BASE}/consult/" in message.text and message.attachments == ()
    assert message.headers["List-Unsubscribe"] and message.headers["Reply-To"]
    for word in HEALTH_WORDS:
        assert word not in (message.text + message.html).lower()


def test_canary_contact_details_reach_neither_the_invitation_nor_anything_but_the_greeting(
    consult_app,
):
    """S-canary for consult mail: the patient's canary name, address and phone are in no
    attachment, link or header, and the body names only their first name, to greet them."""
    consult = book(
        first_name="Zqcanary7first", last_name="Zqcanary7last", email="zqcanary7@example.org",
        phone="+12025550199",
    )  # fmt: skip
    booking.move(consult=consult, starts_at=MOVED, actor=None, now=NOW)
    update, reminder = rows(consult, "consult_update")[0], rows(consult, "consult_reminder")[-1]
    assert (update.status, reminder.status, reminder.step) == ("scheduled", "scheduled", 1)
    for send in (update, reminder):
        message = render_message(send=send, now=NOW)
        for attachment in message.attachments:
            assert canary.hits(attachment.data) == 0
        headers = "\n".join(f"{k}: {v}" for k, v in message.headers.items())
        assert canary.hits(headers) == 0 and canary.hits(message.subject) == 0
        body = (message.text + message.html).replace("Zqcanary7first", "")
        assert canary.hits(body) == 0
