"""Leads for the domain tests and the lead screens' tests alike: one holding every kind of
personal data (for erasure), and reading a lead's state in its own app context: its ledger sends,
the lead itself, its timeline events and its one audit row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from intake.extensions import db, encryption
from intake.inquiries.answers import write_answers
from intake.messaging.sends import schedule_send
from intake.models import AuditEvent, CapturedEmail, EligibilityResult, Lead, LeadEvent, Send
from intake.models.types import utcnow
from tests.factories import NOW, make_inquiry, make_lead

ADDRESS = "erase.me@example.org"
CAREGIVER = "helper.person@example.org"


def full_lead(app, **fields) -> int:
    """A lead with every kind of personal data: contact, caregiver, answers, reasons, a note,
    queued mail and captured mail."""
    with app.app_context():
        lead = make_lead(
            **{
                "email": ADDRESS,
                "caregiver_first_name": "Helper",
                "caregiver_last_name": "Person",
                "caregiver_email": CAREGIVER,
                "caregiver_phone": "+12025550199",
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
        db.session.commit()
        return lead.id


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
