"""Leads for the domain tests and the lead screens' tests alike: one holding every kind of
personal data (for erasure) and a check that its conversation is gone, and reading a lead's
state in its own app context: its ledger sends, the lead itself, its timeline events and its
one audit row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from intake.conversations.attachments import attachment_context
from intake.conversations.inbound import seal_text
from intake.conversations.replies import lead_for_token
from intake.extensions import db, encryption
from intake.inquiries.answers import write_answers
from intake.messaging.sends import schedule_send
from intake.models import (
    AuditEvent,
    CapturedEmail,
    CapturedText,
    ConversationMessage,
    EligibilityResult,
    Lead,
    LeadEvent,
    MessageAttachment,
    Send,
)
from intake.models.types import utcnow
from tests.factories import LEAD, NOW, make_inquiry, make_lead

ADDRESS = "erase.me@example.org"
CAREGIVER = "helper.person@example.org"
PHONE = LEAD["phone"]
CAREGIVER_PHONE = "+12025550199"
OTHER_PHONE = "+12025550100"
# The conversation's words, the attachment's name and bytes: none may outlive an erasure.
STAFF_WORDS = "When may we call you about the consult?"
REPLY_WORDS = "After my MRI on Friday, please"
ATTACHMENT_NAME = "mri-report-friday.pdf"
ATTACHMENT_DATA = b"%PDF-1.4 mri report"


def full_lead(app, **fields) -> int:
    """A lead with every kind of personal data: contact, caregiver, answers, reasons, a note,
    queued mail, captured mail, and a conversation (a message staff wrote, the patient's reply
    with a file attached, the reply address that names the lead, a captured text)."""
    with app.app_context():
        lead = make_lead(
            **{
                "email": ADDRESS,
                "caregiver_first_name": "Helper",
                "caregiver_last_name": "Person",
                "caregiver_email": CAREGIVER,
                "caregiver_phone": CAREGIVER_PHONE,
                "postal_code": "22201",
                "region": "Virginia",
                **fields,
            }
        )
        inquiry = make_inquiry(lead, status="complete")
        write_answers(inquiry, {"dmt_name": "Ocrevus", "symptoms": ["fatigue"]})
        result = EligibilityResult(
            inquiry_id=inquiry.id,
            lead_id=lead.id,
            outcome="needs_review",
            ruleset_id="ms-eligibility",
            ruleset_version="1",
            patient_message="review",
        )
        result.triggered_sealed = encryption.keyring.seal_json(
            [{"id": "blood_thinners"}], context=result.triggered_context
        )
        note = LeadEvent(lead_id=lead.id, kind="note", data={})
        note.text_sealed = encryption.keyring.seal_json("Takes warfarin", context="note")
        db.session.add_all([result, note])
        db.session.add(
            Send(
                key=f"{lead.id}:nurture:1",
                lead_id=lead.id,
                cadence="nurture",
                step=1,
                template="nurture",
                status="scheduled",
                due_at=utcnow() + timedelta(days=1),
            )
        )
        for number, to in enumerate((lead.email, CAREGIVER, f"someone.else{lead.id}@example.org")):
            db.session.add(
                CapturedEmail(
                    message_id=f"<{lead.id}-{number}@t>",
                    recipient=to,
                    subject="Hi",
                    headers={},
                    text_body="Hello",
                    html_body="<p>Hello</p>",
                )
            )
        _conversation(lead)
        db.session.commit()
        return lead.id


def _conversation(lead: Lead) -> None:
    lead.reply_token = f"token{lead.id:015d}"
    sent = ConversationMessage(lead_id=lead.id, direction="out", channel="email", kind="message")
    db.session.add(sent)
    db.session.flush()
    sent.subject_sealed = seal_text(sent, "subject", "About your inquiry")
    sent.body_sealed = seal_text(sent, "body", STAFF_WORDS)
    reply = ConversationMessage(lead_id=lead.id, direction="in", channel="email", kind="reply",
                                external_id=f"<reply-{lead.id}@example.org>",
                                in_reply_to_id=sent.id)  # fmt: skip
    db.session.add(reply)
    db.session.flush()
    reply.subject_sealed = seal_text(reply, "subject", "Re: About your inquiry")
    reply.body_sealed = seal_text(reply, "body", REPLY_WORDS)
    attachment = MessageAttachment(
        message_id=reply.id, filename_sealed="", content_type="application/pdf", size=0
    )
    db.session.add(attachment)
    db.session.flush()
    for part, value in (("filename", ATTACHMENT_NAME.encode()), ("data", ATTACHMENT_DATA)):
        sealed = encryption.keyring.seal(value, context=attachment_context(attachment, part))
        setattr(attachment, f"{part}_sealed", sealed)
    for number, to in enumerate((lead.phone, CAREGIVER_PHONE, OTHER_PHONE)):
        body = "Hello" if to == OTHER_PHONE else STAFF_WORDS
        db.session.add(CapturedText(message_id=f"text-{lead.id}-{number}", recipient=to,
                                    body=body, segments=1))  # fmt: skip


def assert_conversation_erased(app, lead_id: int) -> None:
    """The thread keeps its shape (who wrote when, by which channel) and nothing else: no
    subject, no words, no attachment; the reply address names nobody; the texts kept locally
    for the lead's numbers are gone, someone else's stay."""
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.reply_token is None
        assert lead_for_token(f"token{lead_id:015d}") is None
        rows = db.session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.lead_id == lead_id)
            .order_by(ConversationMessage.id)
        ).all()
        assert [(row.direction, row.kind) for row in rows] == [("out", "message"), ("in", "reply")]
        assert {(row.subject_sealed, row.body_sealed) for row in rows} == {(None, None)}
        ids = [row.id for row in rows]
        assert (
            db.session.scalars(
                select(MessageAttachment).where(MessageAttachment.message_id.in_(ids))
            ).all()
            == []
        )
        texts = db.session.scalars(select(CapturedText.recipient)).all()
        assert OTHER_PHONE in texts and PHONE not in texts and CAREGIVER_PHONE not in texts
        for table in ("captured_texts", "conversation_messages", "message_attachments"):
            left = repr(db.session.execute(text(f"SELECT * FROM {table}")).all())  # noqa: S608 (fixed names)
            assert STAFF_WORDS not in left and REPLY_WORDS not in left, table


def age(app, lead_id: int, days: int) -> None:
    with app.app_context():
        db.session.execute(
            text("UPDATE leads SET updated_at = :at WHERE id = :id"),
            {"at": utcnow() - timedelta(days=days), "id": lead_id},
        )
        db.session.commit()


def schedule(app, lead_id: int, cadence: str, step: int = 1, **fields) -> None:
    with app.app_context():
        schedule_send(key=f"{lead_id}:{cadence}:{step}", cadence=cadence, template=cadence,
                      step=step, due_at=NOW + timedelta(days=step), now=NOW, lead_id=lead_id,
                      **fields)  # fmt: skip
        db.session.commit()


def sends(app, lead_id: int) -> dict[str, tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.scalars(select(Send).where(Send.lead_id == lead_id))
        return {row.key: (row.status, row.finished_reason) for row in rows}


def the_lead(app, lead_id: int) -> Lead:
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        db.session.expunge(lead)
        return lead


def events(app, lead_id: int) -> list[tuple[str, dict]]:
    with app.app_context():
        rows = db.session.scalars(
            select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
        )
        return [(row.kind, row.data) for row in rows]


def only_audit_row(app) -> AuditEvent:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action != "lead.viewed"))
        rows = list(rows)
        assert len(rows) == 1, [row.action for row in rows]
        return rows[0]
