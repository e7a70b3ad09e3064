"""S-canary's conversation: staff write to the canary patient by email and text from the lead
page, the ledger delivers both (to the SMTP sink, and through the provider's library to a
loopback server standing for Twilio), and the patient writes back by email (a real IMAP mailbox,
Dovecot, read by the worker's sweep) with a file attached, and by text (the signed webhook on
the live server); the owner is told of each reply by email. What each step leaves is searched
by test_canary.py."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from intake import jobs
from tests.factories import NOW
from tests.live import LiveClient, wait_until
from tests.messaging.test_texts import TOKEN, provider, sms_url
from tests.security.canary import (
    ATTACHMENT_DATA,
    ATTACHMENT_NAME,
    CONTACT,
    MEDIA_URL,
    REPLY_EMAIL,
    REPLY_SUBJECT,
    REPLY_TEXT,
    STAFF_EMAIL,
    STAFF_SUBJECT,
    STAFF_TEXT,
)
from tests.staff.leads.test_messages import post_message
from tests.workers.conftest import publish

HOOK = "/hooks/texts/twilio"
PATIENT_NUMBER = "+12025550199"  # CONTACT's phone, as the provider writes it
REPLY_NOTICE = "A patient replied to a message"


@pytest.fixture
def text_provider():
    """A loopback HTTP server answering as Twilio's Messages resource: (host, requests)."""
    with provider() as (host, received):
        yield host, received


def conversation_settings(app, worker_settings: dict, dovecot, host: str) -> None:
    """The reply mailbox and the text provider, for the app and (set before they start) the
    worker and beat processes alike."""
    extra = {"SMS_URL": sms_url(host), "REPLY_MAILBOX_URL": dovecot.url}
    worker_settings.update(extra)
    app.config.update(extra)


def text_bodies(received: list[dict]) -> list[str]:
    """The words of each text the provider was asked to send."""
    return [parse_qs(r["body"].decode()).get("Body", [""])[0] for r in received]


def send_from_lead_page(admin, lead_id: int, **fields) -> None:
    """Preview, then send exactly what was previewed, as the lead page's form does."""
    previewed = post_message(admin, lead_id, "preview", **fields)
    assert previewed.status_code == 200, previewed.status_code
    sent = post_message(admin, lead_id, "send", previous=previewed, **fields)
    assert sent.status_code == 303, sent.status_code


def reply_email(to: str, in_reply_to: str) -> EmailMessage:
    """The patient's answer, as their mail client writes it, with a scan attached."""
    message = EmailMessage()
    message["From"] = f"{CONTACT['first_name']} <{CONTACT['email']}>"
    message["To"], message["Subject"] = to, REPLY_SUBJECT
    message["Date"] = format_datetime(NOW)  # nothing reads it: a fixed time, not the clock
    message["Message-ID"] = "<canary-reply-1@mail.example.org>"
    message["In-Reply-To"] = in_reply_to
    message.set_content(REPLY_EMAIL)
    message.add_attachment(
        ATTACHMENT_DATA, maintype="application", subtype="pdf", filename=ATTACHMENT_NAME
    )
    return message


def reply_text(base_url: str, app) -> None:
    """The patient's text with a photo, as Twilio posts it: unsigned first (refused), then
    signed over the public address."""
    form = {"MessageSid": "SMcanary0001", "SmsSid": "SMcanary0001", "AccountSid": "AC1",
            "From": PATIENT_NUMBER, "To": "+15550100", "Body": REPLY_TEXT, "NumMedia": "1",
            "MediaUrl0": MEDIA_URL, "MediaContentType0": "image/jpeg"}  # fmt: skip
    patient = LiveClient(base_url)
    assert patient.post(HOOK, list(form.items())).status_code == 403
    url = app.config["INTAKE_BASE_URL"] + HOOK
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    answered = patient.post(HOOK, list(form.items()), headers={"X-Twilio-Signature": signature})
    assert answered.status_code == 200, answered.status_code


def conversation(app, base_url: str, admin, lead_id: int, sink, dovecot, received, staff: str):
    """Staff write by email and text; the patient answers both ways; the owner (``staff``) is
    told twice."""
    send_from_lead_page(admin, lead_id, channel="email", subject=STAFF_SUBJECT, body=STAFF_EMAIL)
    [sent] = sink.wait_for(
        lambda m: m["To"] == CONTACT["email"] and STAFF_EMAIL in m.get_body().get_content()
    )
    send_from_lead_page(admin, lead_id, channel="text", subject="", body=STAFF_TEXT)
    wait_until(lambda: any(STAFF_TEXT in body for body in text_bodies(received)))

    dovecot.append(reply_email(sent["Reply-To"], sent["Message-ID"]))
    publish(app, jobs.SWEEP_REPLIES)
    sink.wait_for(lambda m: m["To"] == staff and REPLY_NOTICE in str(m["Subject"]))
    reply_text(base_url, app)
    publish(app, jobs.SWEEP_SENDS)
    wait_until(lambda: len([m for m in sink.to(staff) if REPLY_NOTICE in str(m["Subject"])]) == 2)
