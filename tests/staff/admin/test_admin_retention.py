"""Erasure requests and the retention purge: contact details, answers and notes go for good;
ids, outcomes and the audit trail stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from intake.extensions import db, encryption
from intake.inquiries.answers import write_answers
from intake.leads.retention import purge_expired
from intake.models import (
    CLOSED,
    AuditEvent,
    CapturedEmail,
    EligibilityResult,
    Lead,
    LeadEvent,
    Send,
)
from intake.models.types import utcnow
from tests.factories import make_inquiry, make_lead
from tests.staff.conftest import audit_count, csrf_token, page
from workers.tasks import purge_retention

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


def assert_erased(app, lead_id: int) -> None:
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.erased_at is not None
        assert lead.status in CLOSED  # an open lead is closed: nobody contacts or routes it
        assert (lead.first_name, lead.last_name) == ("Erased", "Erased")
        for column in (
            "email",
            "phone",
            "postal_code",
            "caregiver_first_name",
            "caregiver_last_name",
            "caregiver_email",
            "caregiver_phone",
        ):
            assert getattr(lead, column) is None, column
        inquiry = lead.inquiries[0]
        assert inquiry.answers_sealed is None
        result = db.session.scalar(
            select(EligibilityResult).where(EligibilityResult.lead_id == lead_id)
        )
        assert result.outcome == "needs_review"
        assert (
            encryption.keyring.open_json(result.triggered_sealed, context=result.triggered_context)
            == []
        )
        notes = db.session.scalars(
            select(LeadEvent.text_sealed).where(LeadEvent.lead_id == lead_id)
        )
        assert set(notes) == {None}
        assert db.session.scalar(select(Send.status).where(Send.lead_id == lead_id)) == "cancelled"
        for table in ("leads", "captured_emails"):
            dump = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 (fixed names)
            assert ADDRESS not in repr(dump) and CAREGIVER not in repr(dump), table
        assert (
            db.session.scalar(select(func.count()).select_from(CapturedEmail)) == 1
        )  # someone else's


def test_the_page_shows_the_retention_period_and_waiting_requests(app, staff_client):
    client = staff_client("admin")
    requested = full_lead(app, erasure_requested_at=utcnow())
    with app.app_context():
        make_lead(email="other@example.org")
        db.session.commit()
    before = audit_count(app)
    html = page(client.get("/staff/admin/retention"))
    assert audit_count(app) == before + 1
    assert html.find(id="retention-days").get_text() == "730"
    assert [a.get_text() for a in html.select("tbody th a")] == [f"Lead {requested}"]
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (event.action, event.lead_ids) == ("erasure.listed", [requested])


def test_erasing_a_requested_lead_removes_its_contact_data_from_the_database(app, staff_client):
    client = staff_client("admin")
    lead_id = full_lead(app, erasure_requested_at=utcnow())
    token = csrf_token(client)
    before = audit_count(app)
    response = client.post(
        f"/staff/admin/retention/{lead_id}/erase", data={"csrf_token": token, "confirm": "yes"}
    )
    assert response.status_code == 302
    assert audit_count(app) == before + 1
    assert audit_count(app, action="lead.erased", outcome="ok") == 1
    assert_erased(app, lead_id)
    with app.app_context():
        kinds = db.session.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == lead_id))
        assert "erased" in set(kinds)
    # Done once: the list is empty, and a second press changes nothing.
    client.post(
        f"/staff/admin/retention/{lead_id}/erase", data={"csrf_token": token, "confirm": "yes"}
    )
    assert audit_count(app, action="lead.erased", outcome="failed") == 1


def test_nothing_is_erased_without_the_confirmation_box(app, staff_client):
    client = staff_client("admin")
    lead_id = full_lead(app, erasure_requested_at=utcnow())
    token = csrf_token(client)
    before = audit_count(app)
    response = client.post(f"/staff/admin/retention/{lead_id}/erase", data={"csrf_token": token})
    assert audit_count(app) == before + 1
    assert audit_count(app, action="lead.erased", outcome="failed") == 1
    with app.app_context():
        assert db.session.get(Lead, lead_id).email == ADDRESS
    assert "tick the box" in page(client.get(response.headers["Location"])).get_text()


def test_a_lead_without_an_erasure_request_is_not_erased_from_this_page(app, staff_client):
    client = staff_client("admin")
    lead_id = full_lead(app)
    client.post(
        f"/staff/admin/retention/{lead_id}/erase",
        data={"csrf_token": csrf_token(client), "confirm": "yes"},
    )
    with app.app_context():
        assert db.session.get(Lead, lead_id).email == ADDRESS


def age(app, lead_id: int, days: int) -> None:
    with app.app_context():
        db.session.execute(
            text("UPDATE leads SET updated_at = :at WHERE id = :id"),
            {"at": utcnow() - timedelta(days=days), "id": lead_id},
        )
        db.session.commit()


def test_the_purge_erases_only_closed_leads_past_retention(app):
    expired = full_lead(app, status="not_interested")
    recent = full_lead(app, status="unreachable", email="recent@example.org")
    still_open = full_lead(app, status="contacted", email="open@example.org")
    age(app, expired, 31)
    age(app, recent, 29)
    age(app, still_open, 400)
    with app.app_context():
        assert purge_expired(now=utcnow(), retention_days=30) == 1
        db.session.commit()
    with app.app_context():
        assert db.session.get(Lead, recent).email == "recent@example.org"
        assert db.session.get(Lead, still_open).email == "open@example.org"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lead.erased"))
        assert (event.lead_ids, event.actor_id, event.detail["reason"]) == (
            [expired],
            None,
            "retention",
        )
    with app.app_context():
        lead = db.session.get(Lead, expired)
        assert lead.erased_at is not None and lead.email is None and lead.caregiver_email is None
        assert purge_expired(now=utcnow(), retention_days=30) == 0  # never twice


def test_the_periodic_task_purges_in_batches_until_done(app_factory):
    app = app_factory(INTAKE_RETENTION_DAYS=10)
    with app.app_context():
        ids = [make_lead(status="not_eligible", email=f"p{n}@example.org").id for n in range(3)]
        db.session.commit()
    for lead_id in ids:
        age(app, lead_id, 11)
    with app.app_context():
        assert purge_retention.run() == 3
        assert (
            db.session.scalar(
                select(func.count()).select_from(Lead).where(Lead.erased_at.is_(None))
            )
            == 0
        )
    assert audit_count(app, action="lead.erased") == 3
