"""Staff-written messages through the send ledger: delivered once by email (a real SMTP server)
or text (the local capture), and checked again at send time, so an unsubscribe, a STOP, a
do-not-contact or quiet hours that arrived while a message waited are honoured."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from email import policy

import pytest

from intake.conversations import outgoing
from intake.conversations.inbound import record_inbound
from intake.extensions import db
from intake.messaging.delivery import finish_send
from intake.messaging.unsubscribe import unsubscribe_lead
from intake.models import CapturedEmail, CapturedText, Lead, Send
from intake.staff.queries.conversation import build_thread
from tests.factories import EMAIL_PURPOSES, NOW, make_lead, make_staff, record_consent
from tests.messaging.conftest import Recorder, smtp_server
from tests.messaging.test_delivery import claim, deliver_row, row

WORDS = "Hello Ada, when is a good time to call you this week?"
SUBJECT = "About your inquiry"
NIGHT = datetime(2026, 3, 4, 3, 0, tzinfo=NOW.tzinfo)  # 22:00 the evening before in New York


def queued(lead: Lead, channel: str = "email", *, at: datetime = NOW) -> int:
    """A message a coordinator wrote to ``lead``, committed; its ledger row's id."""
    words = outgoing.draft(lead=lead, channel=channel, subject=SUBJECT, body=WORDS)
    message = outgoing.queue_message(
        lead=lead, message=words, actor=make_staff("coordinator"), now=at
    )
    db.session.commit()
    return message.send_id


def test_a_staff_email_goes_once_to_a_real_server_as_written(ctx):
    recorder = Recorder()
    send_id = queued(make_lead())
    with smtp_server(recorder) as server:
        ctx.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        assert deliver_row(send_id) == "sent"

    (envelope,) = recorder.envelopes
    sent = email.message_from_bytes(envelope.content, policy=policy.default)
    assert envelope.rcpt_tos == ["ada.byron@example.org"]
    assert sent["Subject"] == SUBJECT
    assert WORDS in sent.get_body(("plain",)).get_content()
    assert "/unsubscribe/" in sent.get_body(("plain",)).get_content()
    assert sent["Auto-Submitted"] is None  # a person wrote it: out-of-office replies may answer
    assert row(send_id).message_id == sent["Message-ID"]
    (item,) = build_thread(row(send_id).lead_id, {})
    assert item.state == "sent"


def test_a_second_delivery_of_the_same_row_sends_nothing(ctx):
    send_id = queued(make_lead())
    assert deliver_row(send_id) == "sent"

    assert not claim(send_id, NOW + timedelta(minutes=10), redelivered=True)
    assert finish_send(send_id=send_id, now=NOW, commit=db.session.commit) == "skipped"
    (captured,) = db.session.scalars(db.select(CapturedEmail)).all()
    assert captured.subject == SUBJECT


def test_a_text_is_kept_in_the_capture_with_its_parts(ctx):
    lead = make_lead(consents=("contact_text",))
    send_id = queued(lead, "text")

    assert deliver_row(send_id) == "sent"

    (text,) = db.session.scalars(db.select(CapturedText)).all()
    assert (text.recipient, text.body, text.segments) == ("+12025550143", WORDS, 1)


def test_a_text_due_in_the_patients_night_waits_for_their_morning(ctx):
    lead = make_lead(consents=("contact_text",))
    send_id = queued(lead, "text", at=NIGHT)

    assert deliver_row(send_id, NIGHT) == "deferred"

    morning = datetime(2026, 3, 4, 13, 0, tzinfo=NOW.tzinfo)  # 08:00 in New York
    assert (row(send_id).status, row(send_id).due_at) == ("scheduled", morning)
    assert db.session.scalars(db.select(CapturedText)).all() == []


def test_an_email_may_go_at_night(ctx):
    send_id = queued(make_lead(), at=NIGHT)
    assert deliver_row(send_id, NIGHT) == "sent"


@pytest.mark.parametrize(
    ("channel", "consents", "change", "reason"),
    [
        ("email", EMAIL_PURPOSES, "unsubscribe", "unsubscribed"),
        ("text", ("contact_text",), "stop", "no_consent"),
        ("email", EMAIL_PURPOSES, "do_not_contact", "do_not_contact"),
        ("text", ("contact_text",), "do_not_contact", "do_not_contact"),
    ],
)
def test_nothing_goes_after_a_change_that_arrived_while_it_waited(
    ctx, channel, consents, change, reason
):
    lead = make_lead(consents=consents)
    send_id = queued(lead, channel)
    if change == "unsubscribe":
        unsubscribe_lead(lead_id=lead.id, now=NOW + timedelta(seconds=1), source="link")
    elif change == "stop":
        record_consent(lead, "contact_text", granted=False, at=NOW + timedelta(seconds=1))
    else:
        lead.status = "do_not_contact"
    db.session.commit()

    if reason == "unsubscribed":  # the unsubscribe cancels the queued email there and then
        assert not claim(send_id, NOW + timedelta(seconds=2))
    else:  # found at send time
        assert deliver_row(send_id, NOW + timedelta(seconds=2)) == "cancelled"

    assert (row(send_id).status, row(send_id).finished_reason) == ("cancelled", reason)
    assert db.session.scalars(db.select(CapturedEmail)).all() == []
    assert db.session.scalars(db.select(CapturedText)).all() == []
    (item,) = build_thread(lead.id, {})
    assert (item.state, item.reason) == ("not_sent", reason)


def test_the_sealed_words_are_bound_to_their_row(ctx):
    lead = make_lead()
    send_id = queued(lead)
    message = outgoing.message_for_send(db.session.get(Send, send_id))
    other = queued(lead)
    moved = outgoing.message_for_send(db.session.get(Send, other))
    moved.body_sealed = message.body_sealed  # copied onto another row, as an attacker might
    db.session.commit()

    (first, second) = build_thread(lead.id, {})
    assert first.body.strip() == WORDS and second.unreadable


def test_the_owner_hears_of_a_reply_by_a_link_without_a_word_of_it(ctx):
    owner = make_staff("coordinator")
    lead = make_lead(owner_id=owner.id)
    message = record_inbound(lead=lead, channel="email", kind="reply", now=NOW,
                             external_id="<r@example.org>", body="My MRI is attached")  # fmt: skip
    db.session.commit()
    notice = db.session.scalar(
        db.select(Send.id).where(Send.cadence == "staff_reply", Send.lead_id == lead.id)
    )

    assert deliver_row(notice) == "sent"

    (sent,) = db.session.scalars(db.select(CapturedEmail)).all()
    assert sent.subject == "A patient replied to a message"
    assert f"/staff/leads/{lead.id}" in sent.text_body
    assert "MRI" not in sent.text_body + sent.html_body and "Ada" not in sent.text_body
    assert message.kind == "reply"
