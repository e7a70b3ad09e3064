"""Invisible characters that reorder or hide text are taken out at the edge: what a patient types
into the inquiry and what staff type into their forms is stored without them."""

from __future__ import annotations

from sqlalchemy import select

from intake.extensions import db
from intake.inquiries.service import all_answers
from intake.models import Lead, StaffUser
from tests.conftest import complete_inquiry
from tests.factories import seeded_lead
from tests.staff.conftest import csrf_token
from tests.staff.leads.conftest import post_action

# Shows as "Ada" or "Byron"; stored as typed, it would show reversed or hide what follows.
RLO, ZWSP, LRI, PDI, BOM = "\u202e", "\u200b", "\u2066", "\u2069", "\ufeff"
HIDDEN = (RLO, ZWSP, LRI, PDI, BOM)


def test_a_patients_names_and_free_text_are_stored_without_invisible_characters(app):
    client = app.test_client()
    client.get("/inquiry", query_string={"utm_campaign": f"spr{RLO}ing{ZWSP}"})
    complete_inquiry(
        client,
        inquiry={"first_name": f"{RLO}A{ZWSP}da", "last_name": f"By{LRI}ron{PDI}{BOM}",
                 "region": f"Vir{ZWSP}ginia"},
        about_ms={"dmt_name": f"Ocre{RLO}vus"},
    )  # fmt: skip
    with app.app_context():
        lead = db.session.scalar(select(Lead))
        assert (lead.first_name, lead.last_name, lead.region) == ("Ada", "Byron", "Virginia")
        assert lead.utm_campaign == "spring"
        [inquiry] = lead.inquiries
        answers = all_answers(inquiry, app.extensions["intake.definition"].questionnaire)
        assert answers["dmt_name"] == "Ocrevus"
        assert not any(char in str(answers) for char in HIDDEN)


def test_staff_notes_and_names_are_stored_without_invisible_characters(app, staff_client):
    lead_id = seeded_lead(app)
    admin = staff_client("admin")

    response = post_action(admin, lead_id, "notes", {"note-text": f"Call {RLO}back{ZWSP} Monday"})
    assert response.status_code == 303
    shown = admin.get(f"/staff/leads/{lead_id}").get_data(as_text=True)
    assert "Call back Monday" in shown and not any(char in shown for char in HIDDEN)

    admin.post(
        "/staff/admin/staff/invite",
        data={"csrf_token": csrf_token(admin), "email": "ivy@clinic.example",
              "name": f"{RLO}Ivy{ZWSP} Lee{BOM}", "role": "coordinator"},
    )  # fmt: skip
    with app.app_context():
        named = select(StaffUser.name).where(StaffUser.email == "ivy@clinic.example")
        assert db.session.scalar(named) == "Ivy Lee"
