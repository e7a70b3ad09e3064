"""Each action on the lead page: its effect, its timeline event, the follow-ups it stops, and
exactly one audit row. The transition table and the services behind it are tested in
tests/leads/test_pipeline.py."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intake.extensions import db
from intake.models import AuditEvent, Inquiry, LeadEvent
from tests.conftest import page, text_of
from tests.factories import audit_count, paired, seeded_lead
from tests.leads.conftest import events, only_audit_row, schedule, sends, the_lead
from tests.staff.leads.conftest import action_form, post_action

# -- the transition table ---------------------------------------------------------------


# -- services ---------------------------------------------------------------------------


# -- actions on the page ----------------------------------------------------------------


def test_a_status_change_cancels_scheduled_nurture_with_one_event_and_one_audit_row(
    app, staff_client
):
    lead_id = seeded_lead(app)
    schedule(app, lead_id, "nurture")
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "status", {"status-to": "attempting_contact"})

    assert response.status_code == 303
    assert the_lead(app, lead_id).status == "attempting_contact"
    assert sends(app, lead_id) == {f"{lead_id}:nurture:1": ("cancelled", "contacted")}
    assert [kind for kind, _ in events(app, lead_id)] == ["status_changed"]
    row = only_audit_row(app)
    assert (row.action, row.lead_ids) == ("lead.status_changed", [lead_id])
    assert row.detail["from"] == "new" and row.detail["to"] == "attempting_contact"
    assert "Status changed to 'Attempting contact'." in text_of(
        client.get(f"/staff/leads/{lead_id}")
    )


def test_closing_from_the_page_cancels_resume_reminders_and_seals_the_reason(app, staff_client):
    lead_id = seeded_lead(app)
    schedule(app, lead_id, "resume_reminder")
    client = staff_client("coordinator")

    post_action(
        client,
        lead_id,
        "status",
        {"status-to": "not_interested", "status-reason": "Wants to wait a year"},
    )

    assert sends(app, lead_id) == {f"{lead_id}:resume_reminder:1": ("cancelled", "closed")}
    with app.app_context():
        event = db.session.scalar(select(LeadEvent))
        assert "year" not in str(event.data) and "year" not in event.text_sealed
    assert "Wants to wait a year" in text_of(client.get(f"/staff/leads/{lead_id}"))


def test_a_refused_transition_changes_nothing_and_shows_the_message(app, staff_client):
    lead_id = seeded_lead(app)
    schedule(app, lead_id, "nurture")
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "status",
                           {"status-to": "not_interested", "status-reason": ""})  # fmt: skip

    assert response.status_code == 422
    error = page(response).find(id="status-reason-error")
    assert "Give a reason for closing the lead as 'Not interested'." in error.get_text()
    assert page(response).find("select", id="status-to").find("option", selected=True)["value"] == (
        "not_interested"
    )
    assert the_lead(app, lead_id).status == "new"
    assert sends(app, lead_id)[f"{lead_id}:nurture:1"] == ("scheduled", None)
    assert events(app, lead_id) == []
    row = only_audit_row(app)
    assert (row.action, row.outcome) == ("lead.status_changed", "failed")


def test_a_status_not_on_offer_is_refused_next_to_the_field(app, staff_client):
    lead_id = seeded_lead(app)
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "status", {"status-to": "treated"})

    assert response.status_code == 422
    assert page(response).find(id="status-to-error") is not None
    assert the_lead(app, lead_id).status == "new"


@pytest.mark.parametrize(("outcome", "status"), [("reached", "contacted"),
                                                 ("voicemail", "attempting_contact")])  # fmt: skip
def test_a_call_on_a_new_lead_moves_it_on_with_one_audit_row(app, staff_client, outcome, status):
    lead_id = seeded_lead(app)
    schedule(app, lead_id, "nurture")
    client = staff_client("coordinator")

    response = post_action(
        client, lead_id, "calls", {"call-outcome": outcome, "call-summary": "Spoke about travel"}
    )

    assert response.status_code == 303
    lead = the_lead(app, lead_id)
    assert lead.status == status
    assert (lead.first_contacted_at is not None) == (outcome == "reached")
    assert events(app, lead_id) == [
        ("call", {"outcome": outcome}),
        ("status_changed", {"from": "new", "to": status, "cause": "call"}),
    ]
    assert sends(app, lead_id)[f"{lead_id}:nurture:1"][0] == "cancelled"
    assert only_audit_row(app).action == "lead.call_logged"


def test_a_call_without_an_outcome_keeps_the_summary_typed(app, staff_client):
    lead_id = seeded_lead(app)
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "calls", {"call-summary": "Left early"})

    assert response.status_code == 422
    assert "Choose how the call went." in page(response).find(id="call-outcome-error").get_text()
    assert page(response).find("textarea", id="call-summary").get_text().strip() == "Left early"
    assert events(app, lead_id) == []


def test_a_clinician_records_a_decision_and_a_coordinator_cannot(app, staff_client):
    lead_id = seeded_lead(app)
    clinician = staff_client("clinician")

    response = post_action(
        clinician,
        lead_id,
        "decision",
        {"decision-decision": "candidate", "decision-note": "EDSS fits"},
    )

    assert response.status_code == 303
    assert the_lead(app, lead_id).clinical_decision == "candidate"
    assert events(app, lead_id) == [("clinical_decision", {"decision": "candidate"})]
    assert only_audit_row(app).action == "lead.decision_recorded"
    coordinator = staff_client("coordinator")
    shown = coordinator.get(f"/staff/leads/{lead_id}")
    assert page(shown).find("form", action=f"/staff/leads/{lead_id}/decision") is None
    assert "EDSS fits" not in shown.get_data(as_text=True)
    token = action_form(shown, f"/leads/{lead_id}/notes")["note-csrf_token"]
    refused = coordinator.post(f"/staff/leads/{lead_id}/decision",
                               data={"decision-csrf_token": token, "decision-decision": "candidate",
                                     "decision-note": "x"})  # fmt: skip
    assert refused.status_code == 403
    assert audit_count(app, action="access.denied") == 1
    assert the_lead(app, lead_id).clinical_decision == "candidate"


def test_reassigning_gives_the_lead_to_another_member_and_notifies_them(app, staff_client,
                                                                        make_staff):  # fmt: skip
    lead_id = seeded_lead(app)
    colleague = make_staff("coordinator", name="Grace Hopper")
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "owner", {"assign-owner": str(colleague)})

    assert response.status_code == 303
    assert the_lead(app, lead_id).owner_id == colleague
    notices = [k for k in sends(app, lead_id) if ":staff_new_lead:" in k]
    assert len(notices) == 1
    row = only_audit_row(app)
    assert (row.action, row.detail["to"]) == ("lead.reassigned", colleague)
    assert "Assigned to Grace Hopper" in text_of(client.get(f"/staff/leads/{lead_id}"))


def test_do_not_contact_cancels_every_scheduled_message(app, staff_client, make_staff):
    lead_id = seeded_lead(app)
    schedule(app, lead_id, "nurture")
    schedule(app, lead_id, "sla_reminder", staff_user_id=make_staff("coordinator"))
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "do-not-contact", {"dnc-confirm": "y"})

    assert response.status_code == 303
    assert the_lead(app, lead_id).status == "do_not_contact"
    assert {v for v in sends(app, lead_id).values()} == {("cancelled", "do_not_contact")}
    assert only_audit_row(app).action == "lead.do_not_contact"


def test_merging_a_duplicate_moves_its_inquiries_and_cancels_its_messages(app, staff_client):
    lead_id = seeded_lead(app)
    duplicate_id = seeded_lead(app, phone="+12025550199")
    paired(app, lead_id, duplicate_id)
    schedule(app, duplicate_id, "nurture")
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "merge", {"merge-duplicate_id": str(duplicate_id)})

    assert response.status_code == 303
    with app.app_context():
        owners = db.session.scalars(select(Inquiry.lead_id)).all()
        assert owners == [lead_id, lead_id]
    duplicate = the_lead(app, duplicate_id)
    assert (duplicate.status, duplicate.merged_into_id) == ("merged", lead_id)
    assert sends(app, duplicate_id) == {f"{duplicate_id}:nurture:1": ("cancelled", "merged")}
    row = only_audit_row(app)
    assert (row.action, sorted(row.lead_ids)) == ("lead.merged", sorted([lead_id, duplicate_id]))


def test_an_erasure_request_is_recorded_for_an_admin(app, staff_client):
    lead_id = seeded_lead(app)
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "erasure", {"erasure-confirm": "y"})

    assert response.status_code == 303
    assert the_lead(app, lead_id).erasure_requested_at is not None
    assert events(app, lead_id) == [("erasure_requested", {})]
    assert only_audit_row(app).action == "lead.erasure_requested"


def test_a_note_from_a_clinician_adds_one_event_and_one_audit_row(app, staff_client):
    lead_id = seeded_lead(app)
    client = staff_client("clinician")

    post_action(client, lead_id, "notes", {"note-text": "Asked for MRI reports"})

    assert [kind for kind, _ in events(app, lead_id)] == ["note"]
    assert only_audit_row(app).action == "lead.note_added"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 2  # + the view
