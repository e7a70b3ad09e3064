"""The lead page: what each role sees, the timeline, duplicates, and its query budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.conversations.inbound import record_inbound
from intake.extensions import db
from intake.messaging.sends import schedule_send
from intake.models import AuditEvent, Consent, Lead, LeadEvent, MessageAttachment, TeamMember
from intake.staff.leads import lead_views
from tests.conftest import HEALTH, complete_inquiry, page, text_of
from tests.factories import NOW, audit_count, make_inquiry, seeded_lead
from tests.staff.conftest import QueryCounter
from tests.staff.leads.conftest import post_action

SCRIPT = "<script>alert(1)</script>"


def completed_lead(app, **health) -> int:
    """A lead made the honest way: the public form, filled in and sent."""
    complete_inquiry(app.test_client(), health={**HEALTH, **health})
    with app.app_context():
        return db.session.scalar(select(Lead.id).order_by(Lead.id.desc()).limit(1))


def test_the_page_shows_contact_eligibility_reasons_and_the_rule_set_version(
    app, make_staff, sign_in
):
    lead_id = completed_lead(app, active_infection="yes")
    client = sign_in(app.test_client(), make_staff("clinician"))

    response = client.get(f"/staff/leads/{lead_id}")

    assert response.status_code == 200
    shown = text_of(response)
    assert "Ada Byron" in shown and "ada.byron@example.org" in shown
    assert "Needs clinical review" in shown
    assert "Hepatitis B or C, HIV or tuberculosis (or not sure)." in shown
    assert "ms-eligibility version 2026.11.1" in shown
    assert "Inquiry" in shown and "completed" in shown
    assert response.headers["Cache-Control"] == "no-store"


def test_answers_are_shown_to_a_clinician_with_their_question_labels(app, make_staff, sign_in):
    lead_id = completed_lead(app)
    client = sign_in(app.test_client(), make_staff("clinician"))

    answers = page(client.get(f"/staff/leads/{lead_id}")).find("details", class_="lead-answers")

    assert answers is not None
    rows = {th.get_text(strip=True): th.find_next("td").get_text(strip=True)
            for th in answers.find_all("th", scope="row")}  # fmt: skip
    assert "Ocrevus" in rows.values()
    assert any("Which type of MS" in label or "MS type" in label for label in rows)


def test_answers_are_hidden_from_a_coordinator(app, make_staff, sign_in):
    lead_id = completed_lead(app)
    client = sign_in(app.test_client(), make_staff("coordinator"))

    response = client.get(f"/staff/leads/{lead_id}")

    assert response.status_code == 200
    assert page(response).find("details", class_="lead-answers") is None
    assert "Ocrevus" not in response.get_data(as_text=True)
    assert "Health answers are shown to clinical staff only." in text_of(response)
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lead.viewed"))
        assert row.lead_ids == [lead_id] and row.detail == {"answers_shown": False}


def test_coordinators_see_answers_when_the_clinic_allows_it(app_factory, make_staff, sign_in):
    app = app_factory(INTAKE_COORDINATORS_SEE_ANSWERS=True)
    lead_id = completed_lead(app)
    client = sign_in(app.test_client(), make_staff("coordinator"))

    response = client.get(f"/staff/leads/{lead_id}")

    assert "Ocrevus" in response.get_data(as_text=True)


def test_another_teams_lead_is_a_404_for_a_coordinator_and_the_refusal_is_audited(
    app, make_staff, sign_in, team_id
):
    make_staff("coordinator", team="South")
    lead_id = seeded_lead(app, team_id=team_id("South"))
    client = sign_in(app.test_client(), make_staff("coordinator", team="North"))

    response = client.get(f"/staff/leads/{lead_id}")

    assert response.status_code == 404
    assert "Byron" not in response.get_data(as_text=True)
    assert audit_count(app, action="access.denied", outcome="denied") == 1
    assert audit_count(app, action="lead.viewed") == 0


def test_viewing_a_lead_writes_exactly_one_audit_row(app, staff_client):
    lead_id = seeded_lead(app)
    client = staff_client("coordinator")

    client.get(f"/staff/leads/{lead_id}")

    assert audit_count(app) == 1
    assert audit_count(app, action="lead.viewed") == 1


def test_a_note_with_a_script_is_escaped_on_the_page_and_sealed_in_the_database(app, staff_client):
    lead_id = seeded_lead(app)
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "notes", {"note-text": f"Called back {SCRIPT}"})
    assert response.status_code == 303
    shown = client.get(f"/staff/leads/{lead_id}").get_data(as_text=True)

    assert SCRIPT not in shown
    assert "Called back &lt;script&gt;alert(1)&lt;/script&gt;" in shown
    with app.app_context():
        event = db.session.scalar(select(LeadEvent).where(LeadEvent.kind == "note"))
        assert event.text_sealed and "alert" not in event.text_sealed
        assert "alert" not in str(event.data)


def test_the_timeline_shows_a_cancelled_email_with_its_reason(app, staff_client):
    lead_id = seeded_lead(app)
    with app.app_context():
        schedule_send(key=f"{lead_id}:nurture:1", cadence="nurture", template="nurture", step=1,
                      due_at=NOW + timedelta(days=1), now=NOW, lead_id=lead_id)  # fmt: skip
        schedule_send(key=f"{lead_id}:nurture:2", cadence="nurture", template="nurture", step=2,
                      due_at=NOW + timedelta(days=3), now=NOW, lead_id=lead_id)  # fmt: skip
        db.session.commit()
    client = staff_client("coordinator")
    post_action(client, lead_id, "status", {"status-to": "attempting_contact"})

    timeline = page(client.get(f"/staff/leads/{lead_id}")).find("ol", class_="lead-timeline")
    entries = [" ".join(li.get_text(" ").split()) for li in timeline.find_all("li")]

    cancelled = [e for e in entries if "Cancelled: Nurture email, step 2" in e]
    assert cancelled and "because the lead was contacted" in cancelled[0]
    assert any("Status: New → Attempting contact" in e for e in entries)
    assert any("Inquiry" in e and "started" in e for e in entries)


@pytest.mark.parametrize(
    ("sla", "badge"),
    [
        ({"sla_due_at": timedelta(hours=2), "sla_reminded_at": timedelta(hours=-1)}, "On track"),
        ({"sla_due_at": timedelta(minutes=10)}, "Due soon"),
        (
            {"sla_due_at": timedelta(hours=2), "sla_breached_at": timedelta(hours=-1)},
            "SLA breached",
        ),
    ],
    ids=["reminded-but-hours-away", "due-within-30-minutes", "marked-breached"],
)
def test_the_first_contact_deadline_reads_as_the_queue_files_it(
    app, staff_client, sla, badge, monkeypatch
):
    """The queue's words and rules: due soon means due within 30 minutes, reminded or not."""
    monkeypatch.setattr(lead_views, "utcnow", lambda: NOW)  # the page is drawn at NOW
    lead_id = seeded_lead(app, **{column: NOW + offset for column, offset in sla.items()})

    shown = page(staff_client("coordinator").get(f"/staff/leads/{lead_id}"))

    assert shown.select_one(".lead-facts .badge:not([class*=status])").get_text() == badge


def test_a_lead_without_a_first_contact_deadline_says_so(app, staff_client):
    lead_id = seeded_lead(app)

    shown = text_of(staff_client("coordinator").get(f"/staff/leads/{lead_id}"))

    assert "First contact no deadline set" in shown


def test_the_timeline_shows_routing_consents_and_sla_events(app, staff_client):
    lead_id = completed_lead(app)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        lead.sla_due_at = NOW
        lead.sla_reminded_at = NOW - timedelta(minutes=30)
        lead.sla_breached_at = NOW
        db.session.add(Consent(lead_id=lead_id, purpose="follow_up_emails", granted=False,
                               text_version="unsubscribe-2026.1", text_hash="0" * 64,
                               source="unsubscribe", recorded_at=NOW))  # fmt: skip
        db.session.commit()
    client = staff_client("coordinator")

    shown = text_of(client.get(f"/staff/leads/{lead_id}"))

    assert "SLA reminder: first contact due soon" in shown
    assert "SLA breached: no first contact in time" in shown
    assert "Consent withdrawn: follow-up emails (unsubscribe link" in shown
    assert "Consent not given: contact by phone" in shown
    assert "Consent given: contact by email" in shown


def test_possible_duplicates_are_the_recorded_pairs_with_their_reason(app, staff_client):
    lead_id = completed_lead(app)
    # The same email with another name: a lead of its own, paired with the first.
    complete_inquiry(app.test_client(), inquiry={"first_name": "Claire", "phone": ""})
    seeded_lead(app, email="other@example.org", phone="+12025550100")  # somebody else
    with app.app_context():
        duplicate_id = db.session.scalar(select(Lead.id).where(Lead.first_name == "Claire"))
    client = staff_client("coordinator")

    duplicates = page(client.get(f"/staff/leads/{lead_id}")).find(
        "section", attrs={"aria-labelledby": "duplicates-heading"}
    )

    links = [a["href"] for a in duplicates.find_all("a")]
    assert links[0] == f"/staff/leads/{duplicate_id}"
    assert links[1].startswith("/staff/duplicates/")
    assert "same email, different name" in duplicates.get_text()


def _busy_history(app, lead_id: int, n: int) -> None:
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        for number in range(n):
            make_inquiry(lead, status="complete")
            db.session.add(LeadEvent(lead_id=lead_id, kind="note", at=NOW, data={}))
            schedule_send(key=f"{lead_id}:x:{number}", cadence="nurture", template="nurture",
                          step=number, due_at=NOW, now=NOW, lead_id=lead_id)  # fmt: skip
            reply = record_inbound(lead=lead, channel="email", kind="reply", now=NOW,
                                   external_id=f"<r{number}@x.org>", body="Thanks")  # fmt: skip
            db.session.add(MessageAttachment(message_id=reply.id, filename_sealed="-", size=1,
                                             content_type="image/png", refused="type"))  # fmt: skip
        db.session.commit()


# The session with its user (1), the lead in scope (1), its inquiries, eligibility results,
# contact details on record, staff names, team names, possible-duplicate pairs and merges that
# can be undone (7), the conversation with its attachments (1), the timeline's sends, events,
# routing decisions and consents (4), the staff who may take a task on it and its open tasks
# (2), the consult types and the lead's booked consult (2), and the audit row: chain head and
# insert (2). The same on both backends and whatever the lead's history. (13 before contact
# details and merges were kept, 15 before the conversation, 16 before tasks and consults: each
# is one more statement. With a consult type offered, its free times cost five more:
# tests/consults/test_lead_consult.py.)
LEAD_PAGE_QUERIES = 20


@pytest.mark.parametrize("history", [1, 6])
def test_the_lead_page_runs_a_fixed_number_of_queries(app, make_staff, sign_in, team_id, history):
    lead_id = completed_lead(app)
    _busy_history(app, lead_id, history)
    user = make_staff("coordinator", team="North")
    with app.app_context():
        db.session.add(TeamMember(team_id=team_id("North"), staff_user_id=make_staff("admin")))
        db.session.commit()
    client = sign_in(app.test_client(), user)
    client.get(f"/staff/leads/{lead_id}")

    with QueryCounter(app) as counter:
        response = client.get(f"/staff/leads/{lead_id}")

    assert response.status_code == 200
    assert counter.count == LEAD_PAGE_QUERIES, "\n---\n".join(s[:300] for s in counter.statements)
