"""Erasure requests on the retention page: contact details, answers and notes go for good; ids,
outcomes and the audit trail stay. The periodic purge is tested in tests/leads/test_retention.py."""

from __future__ import annotations

from sqlalchemy import func, select, text

from intake.extensions import db, encryption
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
from tests.factories import audit_count, make_lead
from tests.leads.conftest import ADDRESS, CAREGIVER, assert_conversation_erased, full_lead
from tests.staff.conftest import csrf_token, page


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
    assert_conversation_erased(app, lead_id)


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
