"""Writing to the patient from the lead page: preview, send only what was previewed, refusals
next to the field with what was typed kept, the thread, and one audit row a request that never
holds the words."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from intake.conversations.attachments import attachment_context
from intake.conversations.inbound import open_text, record_inbound
from intake.extensions import db, encryption
from intake.models import AuditEvent, ConversationMessage, Lead, MessageAttachment, Send
from tests.conftest import page, text_of
from tests.factories import EMAIL_PURPOSES, NOW, audit_count, saved_lead
from tests.leads.conftest import only_audit_row, the_lead
from tests.staff.conftest import csrf_token
from tests.staff.leads.conftest import action_form

WORDS = "Hello Ada, when is a good time to call you this week?"
SUBJECT = "About your inquiry"


def message_form(client, lead_id: int, response=None) -> dict:
    """The hidden fields of the page's "Write to the patient" form (its token and digest)."""
    response = response or client.get(f"/staff/leads/{lead_id}")
    return action_form(response, f"/leads/{lead_id}/messages#write")


def post_message(client, lead_id: int, step: str, *, previous=None, hidden=None, **fields):
    """Post the form as a browser would: its hidden fields from the page (or ``previous``,
    the response showing the preview), the fields given, and the button pressed."""
    data = {**(hidden or message_form(client, lead_id, previous)), "message-action": step}
    data.update({f"message-{name}": value for name, value in fields.items()})
    return client.post(f"/staff/leads/{lead_id}/messages", data=data)


def last_audit_row(app) -> AuditEvent:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def thread(app, lead_id: int) -> list[ConversationMessage]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(ConversationMessage).where(ConversationMessage.lead_id == lead_id)
            )
        )


def conversation_sends(app, lead_id: int) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Send.cadence, Send.channel, Send.status).where(
                Send.lead_id == lead_id, Send.cadence == "conversation"
            )
        )
        return [tuple(row) for row in rows]


def test_a_preview_shows_the_whole_email_and_queues_nothing(app, staff_client):
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    client = staff_client("coordinator")
    hidden = message_form(client, lead_id)
    before = audit_count(app)

    response = post_message(client, lead_id, "preview", hidden=hidden, channel="email",
                            subject=SUBJECT, body=WORDS)  # fmt: skip

    assert response.status_code == 200
    preview = page(response).select_one(".message-preview")
    shown = preview.get_text(" ", strip=True)
    assert "ada.byron@example.org" in shown and SUBJECT in shown and WORDS in shown
    assert "/unsubscribe/" in shown  # the footer the patient gets, as they will get it
    assert thread(app, lead_id) == [] and conversation_sends(app, lead_id) == []
    assert audit_count(app) == before + 1
    row = only_audit_row(app)
    assert (row.action, row.outcome) == ("lead.message_previewed", "ok")
    assert WORDS not in json.dumps(row.detail)


def test_sending_the_previewed_message_seals_it_queues_it_once_and_counts_as_an_attempt(
    app, staff_client
):
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    client = staff_client("coordinator")
    previewed = post_message(client, lead_id, "preview", channel="email", subject=SUBJECT,
                             body=WORDS)  # fmt: skip
    hidden = message_form(client, lead_id, previewed)
    before = audit_count(app)

    response = post_message(client, lead_id, "send", hidden=hidden, channel="email",
                            subject=SUBJECT, body=WORDS)  # fmt: skip

    assert response.status_code == 303 and response.location.endswith("#conversation")
    assert audit_count(app) == before + 1
    (message,) = thread(app, lead_id)
    assert (message.direction, message.channel, message.kind) == ("out", "email", "message")
    assert WORDS not in message.body_sealed and SUBJECT not in message.subject_sealed
    with app.app_context():
        assert open_text(message, "body").strip() == WORDS
    assert conversation_sends(app, lead_id) == [("conversation", "email", "scheduled")]
    assert the_lead(app, lead_id).status == "attempting_contact"
    row = last_audit_row(app)
    assert (row.action, row.lead_ids) == ("lead.message_sent", [lead_id])
    assert row.detail["message_id"] == message.id and WORDS not in json.dumps(row.detail)
    shown = page(client.get(f"/staff/leads/{lead_id}")).select_one("#conversation")
    assert WORDS in shown.get_text() and "Queued" in shown.get_text()


def test_a_message_changed_after_its_preview_is_shown_again_not_sent(app, staff_client):
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    client = staff_client("coordinator")
    previewed = post_message(client, lead_id, "preview", channel="email", subject=SUBJECT,
                             body=WORDS)  # fmt: skip

    response = post_message(client, lead_id, "send", previous=previewed, channel="email",
                            subject=SUBJECT, body=WORDS + " Or write back.")  # fmt: skip

    assert response.status_code == 200
    assert "The message changed after the last preview" in text_of(response)
    assert "Or write back." in page(response).select_one(".message-preview").get_text()
    assert thread(app, lead_id) == []


def test_a_template_fills_in_the_words_for_the_patient_and_is_previewed(app, staff_client):
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    client = staff_client("coordinator")

    response = post_message(client, lead_id, "template", channel="email",
                            template="first_reply", subject="", body="")  # fmt: skip

    assert response.status_code == 200
    soup = page(response)
    body = soup.select_one("#message-body").get_text()
    assert "Ada" in body and "{{" not in body
    assert soup.select_one("#message-subject")["value"]
    assert soup.select_one(".message-preview") is not None


@pytest.mark.parametrize(
    ("consents", "fields", "channel", "field", "words"),
    [
        (EMAIL_PURPOSES, {}, "text", "channel", "has not agreed to text messages"),
        ((), {}, "email", "channel", "has not agreed to emails"),
        (EMAIL_PURPOSES, {"status": "do_not_contact"}, "email", "channel", "asked not to be"),
        (EMAIL_PURPOSES, {"email": None}, "email", "channel", "has no email address"),
    ],
)
def test_a_message_that_may_not_go_is_refused_next_to_the_field_keeping_the_words(
    app, staff_client, consents, fields, channel, field, words
):
    lead_id = saved_lead(app, consents=consents, **fields)
    client = staff_client("coordinator")

    response = post_message(client, lead_id, "preview", channel=channel, subject=SUBJECT,
                            body=WORDS)  # fmt: skip

    assert response.status_code == 422
    soup = page(response)
    error = soup.select_one(f"#message-{field}-error")
    assert error is not None and words in error.get_text()
    assert soup.select_one("#message-body").get_text().strip() == WORDS
    assert thread(app, lead_id) == []
    assert only_audit_row(app).outcome == "failed"


def test_an_email_without_words_or_subject_says_so(app, staff_client):
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    client = staff_client("coordinator")

    no_subject = post_message(client, lead_id, "preview", channel="email", subject="", body=WORDS)
    no_words = post_message(client, lead_id, "preview", channel="email", subject=SUBJECT, body="")

    assert "Write a subject" in page(no_subject).select_one("#message-subject-error").get_text()
    assert "Write the message" in page(no_words).select_one("#message-body-error").get_text()


def test_a_text_preview_counts_its_parts(app, staff_client):
    lead_id = saved_lead(app, consents=("contact_text",))
    client = staff_client("coordinator")

    response = post_message(client, lead_id, "preview", channel="text", subject="",
                            body="word " * 50)  # fmt: skip

    assert response.status_code == 200
    assert "Goes as 2 text messages" in page(response).select_one(".message-preview").get_text()


def test_clinicians_read_the_thread_but_get_no_form(app, staff_client):
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        record_inbound(lead=lead, channel="email", kind="reply", external_id="<r1@example.org>",
                       now=NOW, subject="Re: your inquiry", body="Mornings are best.")  # fmt: skip
        db.session.commit()
    client = staff_client("clinician")

    response = client.get(f"/staff/leads/{lead_id}")

    assert "Mornings are best." in page(response).select_one("#conversation").get_text()
    assert page(response).select_one("#write") is None
    token = csrf_token(client, f"/staff/leads/{lead_id}")
    refused = client.post(f"/staff/leads/{lead_id}/messages", data={
        "csrf_token": token, "message-csrf_token": token, "message-action": "send",
        "message-channel": "email", "message-subject": SUBJECT, "message-body": WORDS})  # fmt: skip
    assert refused.status_code == 403
    assert len(thread(app, lead_id)) == 1


def test_a_new_reply_shows_until_marked_read(app, staff_client):
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        record_inbound(lead=lead, channel="text", kind="reply", external_id="SM1", now=NOW,
                       body="Yes please call me")  # fmt: skip
        db.session.commit()
    client = staff_client("coordinator")
    shown = client.get(f"/staff/leads/{lead_id}")
    assert "1 new reply." in text_of(shown)
    hidden = action_form(shown, f"/leads/{lead_id}/replies-read")

    response = client.post(f"/staff/leads/{lead_id}/replies-read", data=hidden)

    assert response.status_code == 303
    assert "new repl" not in text_of(client.get(f"/staff/leads/{lead_id}"))
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
            "lead.viewed"
        )


def test_an_attachment_downloads_opened_and_audited_and_a_refused_one_says_why(app, staff_client):
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        reply = record_inbound(lead=lead, channel="email", kind="reply", now=NOW,
                               external_id="<att@example.org>", body="My letter")  # fmt: skip
        kept = MessageAttachment(message_id=reply.id, filename_sealed="", size=8,
                                 content_type="application/pdf")  # fmt: skip
        refused = MessageAttachment(message_id=reply.id, filename_sealed="", size=99_000_000,
                                    content_type="application/zip", refused="type")  # fmt: skip
        db.session.add_all([kept, refused])
        db.session.flush()
        for row, name in ((kept, b"letter.pdf"), (refused, b"all.zip")):
            row.filename_sealed = seal(name, row, "filename")
        kept.data_sealed = seal(b"%PDF-1.4", kept, "data")
        db.session.commit()
        kept_id = kept.id
    client = staff_client("coordinator")
    shown = page(client.get(f"/staff/leads/{lead_id}"))
    thread_html = shown.select_one("#conversation")
    assert "files of this type are not kept" in thread_html.get_text()
    timeline = shown.select_one(".lead-timeline").get_text(" ", strip=True)
    assert "Reply by email" in timeline
    assert "An attachment was not kept: files of this type are not kept" in timeline
    assert "My letter" not in timeline
    (link,) = thread_html.select("a[href*='/attachments/']")
    before = audit_count(app)

    response = client.get(link["href"])

    assert response.status_code == 200 and response.data == b"%PDF-1.4"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "letter.pdf" in response.headers["Content-Disposition"]
    assert audit_count(app) == before + 1
    assert last_audit_row(app).action == "lead.attachment_downloaded"
    other = saved_lead(app, consents=EMAIL_PURPOSES, email="someone@example.org")
    assert client.get(f"/staff/leads/{other}/attachments/{kept_id}").status_code == 404


def seal(value: bytes, row, part: str) -> str:
    return encryption.keyring.seal(value, context=attachment_context(row, part))
