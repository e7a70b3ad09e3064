"""The pipeline's transitions, and each action on the lead page: its effect, its timeline event,
the follow-ups it stops, and exactly one audit row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from intake.extensions import db
from intake.leads.pipeline import (
    TRANSITIONS,
    TransitionError,
    assign_lead,
    change_status,
    check_transition,
)
from intake.messaging.sends import schedule_send
from intake.models import CLOSED, PIPELINE, AuditEvent, Inquiry, Lead, LeadEvent, Send, StaffUser
from intake.models.types import utcnow
from tests.conftest import page, text_of
from tests.factories import NOW, make_inquiry, make_lead, paired, seeded_lead
from tests.staff.conftest import audit_count
from tests.staff.leads.conftest import action_form, post_action


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


# -- the transition table ---------------------------------------------------------------


def test_open_leads_move_forward_one_or_two_steps():
    for index, status in enumerate(PIPELINE[:-1]):
        forward = [s for s in TRANSITIONS[status] if s in PIPELINE]
        assert forward == list(PIPELINE[index + 1 : index + 3])


def test_any_open_lead_can_be_closed_but_never_set_to_merged_by_hand():
    for status in PIPELINE[:-1]:
        assert {"not_eligible", "not_interested", "unreachable", "do_not_contact"} <= set(
            TRANSITIONS[status]
        )
        assert "merged" not in TRANSITIONS[status]
    with pytest.raises(TransitionError, match="only by merging"):
        check_transition("new", "merged", "duplicate")


def test_closed_leads_reopen_to_attempting_contact_except_do_not_contact_and_merged():
    for status in ("not_eligible", "not_interested", "unreachable"):
        assert "attempting_contact" in TRANSITIONS[status]
    assert TRANSITIONS["do_not_contact"] == () and TRANSITIONS["merged"] == ()
    with pytest.raises(TransitionError, match="asked not to be contacted"):
        check_transition("do_not_contact", "attempting_contact", "they called back")


def test_closing_needs_a_reason_and_skipping_ahead_is_refused_in_plain_words():
    with pytest.raises(TransitionError, match="Give a reason"):
        check_transition("contacted", "not_interested", "  ")
    with pytest.raises(TransitionError, match="cannot go from 'New' to 'Screening'"):
        check_transition("new", "screening")
    assert set(CLOSED) - {"merged"} <= set(TRANSITIONS["new"])


# -- services ---------------------------------------------------------------------------


def test_leaving_new_cancels_nurture_and_reaching_contacted_stops_the_sla_clock(app):
    with app.app_context():
        lead = make_lead()
        schedule_send(key="n1", cadence="nurture", template="nurture", step=1,
                      due_at=NOW + timedelta(days=1), now=NOW, lead_id=lead.id)  # fmt: skip
        change_status(lead=lead, to="contacted", reason=None, actor=None, now=NOW)
        db.session.commit()
        nurture = db.session.scalar(select(Send).where(Send.key == "n1"))
        assert (nurture.status, nurture.finished_reason) == ("cancelled", "contacted")
        assert lead.first_contacted_at == NOW


def test_closing_cancels_resume_reminders_but_not_staff_notices(app):
    with app.app_context():
        lead = make_lead()
        inquiry = make_inquiry(lead)
        for key, cadence in (("r1", "resume_reminder"), ("s1", "staff_new_lead")):
            schedule_send(key=key, cadence=cadence, template=cadence, due_at=NOW, now=NOW,
                          lead_id=lead.id, inquiry_id=inquiry.id)  # fmt: skip
        change_status(lead=lead, to="not_interested", reason="Chose another clinic",
                      actor=None, now=NOW)  # fmt: skip
        db.session.commit()
        statuses = dict(db.session.execute(select(Send.key, Send.status)).all())
        assert statuses == {"r1": "cancelled", "s1": "scheduled"}


def test_assigning_notifies_the_new_owner_with_a_link_only_and_records_the_event(app, make_staff):
    owner_id = make_staff("coordinator")
    with app.app_context():
        lead = make_lead()
        owner = db.session.get(StaffUser, owner_id)
        event = assign_lead(lead=lead, owner=owner, actor=None, now=NOW)
        db.session.commit()
        notice = db.session.scalar(select(Send).where(Send.cadence == "staff_new_lead"))
        assert (notice.staff_user_id, notice.lead_id, notice.status) == (
            owner_id,
            lead.id,
            "scheduled",
        )
        assert (event.kind, event.data) == ("assigned", {"from": None, "to": owner_id})
        assert lead.owner_id == owner_id and lead.sla_due_at is not None
        with pytest.raises(TransitionError, match="already assigned"):
            assign_lead(lead=lead, owner=owner, actor=None, now=NOW)


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


def test_a_consult_is_entered_in_clinic_time_stored_in_utc_and_moves_the_status(app, staff_client):
    lead_id = seeded_lead(app, status="contacted")
    day = (utcnow() + timedelta(days=30)).date()
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "consult",
                           {"consult-date": day.isoformat(), "consult-time": "14:30"})  # fmt: skip

    assert response.status_code == 303
    lead = the_lead(app, lead_id)
    expected = datetime.combine(day, datetime.strptime("14:30", "%H:%M").time(),
                                tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)  # fmt: skip
    assert lead.consult_at == expected
    assert lead.status == "consult_scheduled"
    assert [kind for kind, _ in events(app, lead_id)] == ["consult_scheduled", "status_changed"]
    assert only_audit_row(app).action == "lead.consult_scheduled"


def test_a_consult_in_the_past_is_refused(app, staff_client):
    lead_id = seeded_lead(app, status="contacted")
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "consult",
                           {"consult-date": "2020-01-01", "consult-time": "09:00"})  # fmt: skip

    assert response.status_code == 422
    assert "future" in page(response).find(id="consult-date-error").get_text()
    assert the_lead(app, lead_id).consult_at is None


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
