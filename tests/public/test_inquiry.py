"""The inquiry journey, through the real views and the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from intake.extensions import db
from intake.inquiries.answers import read_answers
from intake.models import Consent, EligibilityResult, Inquiry, Lead, OutboxEvent
from intake.models.types import utcnow
from tests.conftest import (
    ABOUT_MS,
    CONTACT,
    complete_inquiry,
    hidden_fields,
    page,
    send_step,
)


def rows(app, model):
    with app.app_context():
        return db.session.scalars(db.select(model).order_by(model.id)).all()


def test_the_lead_exists_after_step_one_marked_incomplete(app, client):
    response = send_step(client, "/inquiry", CONTACT)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inquiry/about_ms")
    [lead] = rows(app, Lead)
    assert lead.incomplete is True
    assert (lead.email, lead.phone) == ("ada.byron@example.org", "+12025550143")
    assert lead.status == "new"
    [event] = rows(app, OutboxEvent)
    assert event.topic == "inquiry.started"
    assert event.payload == {
        "lead_id": lead.id,
        "inquiry_id": rows(app, Inquiry)[0].id,
        "new_lead": 1,
    }


def test_a_complete_inquiry_stores_answers_consents_eligibility_and_events(app, client):
    response = complete_inquiry(client)

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/inquiry/sent")
    [lead], [inquiry] = rows(app, Lead), rows(app, Inquiry)
    assert lead.incomplete is False
    assert lead.ms_type == "RRMS"
    assert lead.eligibility_outcome == "no_exclusion_found"
    assert inquiry.status == "complete" and inquiry.completed_at is not None
    with app.app_context():
        answers = read_answers(db.session.get(Inquiry, inquiry.id))
    assert answers["edss"] == "4.5"
    assert answers["symptoms"] == ["fatigue", "vision"]
    assert answers["diagnosis_year"] == 2015
    # The inquiry keeps the contact details it was sent with, sealed beside its answers.
    assert (answers["email"], answers["first_name"]) == (lead.email, lead.first_name)
    consents = {c.purpose: c.granted for c in rows(app, Consent)}
    assert consents == {
        "privacy_notice": True,
        "contact_email": True,
        "contact_phone": False,
        "contact_text": False,
        "follow_up_emails": True,
        "not_medical_advice": True,
    }
    assert all(len(c.text_hash) == 64 and c.text_version for c in rows(app, Consent))
    [result] = rows(app, EligibilityResult)
    assert (result.outcome, result.ruleset_version) == ("no_exclusion_found", "2026.11.1")
    assert [e.topic for e in rows(app, OutboxEvent)] == ["inquiry.started", "inquiry.completed"]


def test_the_confirmation_gives_next_steps_and_never_claims_eligibility(client):
    complete_inquiry(client)
    text = page(client.get("/inquiry/sent")).get_text(" ", strip=True)

    assert "will contact you within one working day" in text
    assert "eligible" not in text.lower()


@pytest.mark.parametrize(
    ("changes", "expected_outcome", "expected_words"),
    [
        ({"health": {"date_of_birth": date(2012, 5, 1)}}, "not_eligible", "can only treat adults"),
        ({"health": {"pregnancy": "yes"}}, "not_eligible", "not offered during pregnancy"),
        ({"health": {"blood_thinners": "yes"}}, "needs_review", "clinical team will look"),
        ({"about_ms": {"mobility": "bed_bound"}}, "needs_review", "clinical team will look"),
    ],
    ids=["under-18", "pregnancy", "blood-thinners", "bed-bound"],
)
def test_each_outcome_shows_its_configured_message(
    app, client, changes, expected_outcome, expected_words
):
    complete_inquiry(client, **changes)
    text = page(client.get("/inquiry/sent")).get_text(" ", strip=True)

    assert expected_words in text
    assert "eligible" not in text.lower()
    assert rows(app, Lead)[0].eligibility_outcome == expected_outcome


def test_errors_are_listed_at_the_top_and_next_to_each_field_keeping_valid_answers(client):
    response = send_step(client, "/inquiry", {**CONTACT, "email": "not-an-email", "first_name": ""})

    assert response.status_code == 422
    soup = page(response)
    summary = soup.select_one(".error-summary")
    assert summary is not None
    assert {a["href"] for a in summary.select("a")} == {"#first_name", "#email"}
    email = soup.find("input", id="email")
    assert email["aria-invalid"] == "true"
    assert "email-error" in email["aria-describedby"].split()
    assert "name@example.com" in soup.find(id="email-error").get_text()
    assert soup.find("input", id="last_name")["value"] == "Byron"
    assert soup.find("input", id="filled_by-0").has_attr("checked")


def test_an_email_or_a_phone_is_needed_and_must_match_the_contact_method(app, client):
    no_contact = send_step(client, "/inquiry", {**CONTACT, "email": "", "phone": ""})
    assert "Give an email address or a phone number" in no_contact.get_data(as_text=True)

    phone_only_by_email = send_step(client, "/inquiry", {**CONTACT, "email": ""})
    assert "please also give an email address" in phone_only_by_email.get_data(as_text=True)
    assert rows(app, Lead) == []


def test_a_hidden_question_is_neither_required_nor_stored(app, client):
    send_step(client, "/inquiry", CONTACT)
    response = send_step(
        client, "/inquiry/about_ms", {**ABOUT_MS, "edss_known": "no", "edss": "9", "on_dmt": "no"}
    )

    assert response.status_code == 302
    with app.app_context():
        answers = read_answers(db.session.scalars(db.select(Inquiry)).one())
    assert "edss" not in answers and "dmt_name" not in answers


def test_a_shown_required_question_must_be_answered(client):
    send_step(client, "/inquiry", CONTACT)
    response = send_step(client, "/inquiry/about_ms", {**ABOUT_MS, "edss": ""})

    assert response.status_code == 422
    assert page(response).find(id="edss-error") is not None


def test_caregiver_details_are_kept_beside_the_patients(app, client):
    send_step(
        client,
        "/inquiry",
        {
            **CONTACT,
            "filled_by": "someone_else",
            "caregiver_first_name": "Mary",
            "caregiver_last_name": "Shelley",
            "caregiver_relationship": "Daughter",
            "caregiver_phone": "202-555-0188",
        },
    )
    [lead] = rows(app, Lead)
    assert (lead.first_name, lead.caregiver_first_name) == ("Ada", "Mary")
    assert lead.caregiver_phone == "+12025550188"


def test_caregiver_questions_are_required_only_when_filling_in_for_someone_else(app, client):
    response = send_step(client, "/inquiry", {**CONTACT, "filled_by": "someone_else"})
    assert response.status_code == 422
    assert page(response).find(id="caregiver_first_name-error") is not None

    assert send_step(client, "/inquiry", CONTACT).status_code == 302


class TestDedupe:
    def test_the_same_email_within_90_days_attaches_to_the_existing_lead(self, app):
        complete_inquiry(app.test_client())
        send_step(
            app.test_client(),
            "/inquiry",
            {**CONTACT, "email": " ADA.byron@example.ORG ", "phone": ""},
        )

        [lead] = rows(app, Lead)
        assert len(rows(app, Inquiry)) == 2
        assert {i.lead_id for i in rows(app, Inquiry)} == {lead.id}

    def test_the_same_phone_in_another_format_attaches_too(self, app):
        send_step(app.test_client(), "/inquiry", CONTACT)
        send_step(
            app.test_client(),
            "/inquiry",
            {**CONTACT, "email": "other@example.org", "phone": "+1 202 555 0143"},
        )

        assert len(rows(app, Lead)) == 1
        assert len(rows(app, Inquiry)) == 2

    def test_after_90_days_a_new_lead_is_made(self, app):
        send_step(app.test_client(), "/inquiry", CONTACT)
        with app.app_context():
            lead = db.session.scalars(db.select(Lead)).one()
            lead.last_inquiry_at = utcnow() - timedelta(days=91)
            db.session.commit()
        send_step(app.test_client(), "/inquiry", CONTACT)

        assert len(rows(app, Lead)) == 2

    def test_different_people_get_different_leads(self, app):
        send_step(app.test_client(), "/inquiry", CONTACT)
        send_step(
            app.test_client(),
            "/inquiry",
            {**CONTACT, "email": "someone@example.org", "phone": "+44 20 7946 0958"},
        )

        assert len(rows(app, Lead)) == 2


class TestResume:
    def save_for_later(self, client):
        send_step(client, "/inquiry", CONTACT)
        send_step(client, "/inquiry/about_ms", ABOUT_MS)
        response = send_step(
            client, "/inquiry/health", {"date_of_birth": date(1980, 4, 2)}, action="save_later"
        )
        assert response.status_code == 200
        link = page(response).select_one(".resume-link a")["href"]
        base = client.application.config["INTAKE_BASE_URL"]  # never the request's host
        assert link.startswith(f"{base}/inquiry/resume/")
        return link.removeprefix(base)  # opened here, on the test client's host

    def test_a_resume_link_finishes_the_inquiry_on_another_device(self, app):
        link = self.save_for_later(app.test_client())
        other_device = app.test_client()

        landing = other_device.get(link)
        assert landing.status_code == 302
        assert landing.headers["Location"].endswith("/inquiry/health")
        health_page = page(other_device.get("/inquiry/health"))
        typed = [
            health_page.find("input", id=f"date_of_birth-{part}")["value"]
            for part in ("day", "month", "year")
        ]
        assert typed == ["2", "4", "1980"]

        complete_inquiry_from_health(other_device)
        [lead] = rows(app, Lead)
        assert lead.incomplete is False
        with app.app_context():
            answers = read_answers(db.session.scalars(db.select(Inquiry)).one())
        assert answers["dmt_name"] == "Ocrevus"

    def test_only_the_hash_of_the_link_token_is_stored(self, app):
        from intake.models import ResumeToken

        link = self.save_for_later(app.test_client())
        token = link.rsplit("/", 1)[-1]
        [stored] = rows(app, ResumeToken)
        assert token not in stored.token_hash and len(stored.token_hash) == 64

    def test_an_expired_or_unknown_link_explains_kindly(self, app):
        from intake.models import ResumeToken

        link = self.save_for_later(app.test_client())
        with app.app_context():
            token = db.session.scalars(db.select(ResumeToken)).one()
            token.expires_at = utcnow() - timedelta(minutes=1)
            db.session.commit()

        for url in (link, "/inquiry/resume/not-a-real-token"):
            response = app.test_client().get(url)
            assert response.status_code == 410
            assert "This link no longer works" in response.get_data(as_text=True)

    def test_a_link_to_a_sent_inquiry_shows_the_confirmation(self, app):
        link = self.save_for_later(app.test_client())
        device = app.test_client()
        device.get(link)
        complete_inquiry_from_health(device)

        again = app.test_client().get(link)
        assert again.status_code == 303
        assert again.headers["Location"].endswith("/inquiry/sent")


def complete_inquiry_from_health(client):
    from tests.conftest import CONSENT, HEALTH

    assert send_step(client, "/inquiry/health", HEALTH).status_code == 302
    assert send_step(client, "/inquiry/consent", CONSENT).status_code == 303


def test_attribution_is_captured_from_the_first_visit(app, client):
    client.get(
        "/inquiry?utm_source=newsletter&utm_campaign=spring-ms&utm_medium=email",
        headers={"Referer": "https://clinic.example/articles/msc-trials"},
    )
    client.get("/inquiry?utm_source=other")  # a later visit does not overwrite the first
    send_step(client, "/inquiry", CONTACT)

    [lead], [inquiry] = rows(app, Lead), rows(app, Inquiry)
    assert (inquiry.utm_source, inquiry.utm_medium) == ("newsletter", "email")
    assert inquiry.referrer == "https://clinic.example/articles/msc-trials"
    assert inquiry.landing_page.startswith("/inquiry?utm_source=newsletter")
    assert (lead.utm_campaign, lead.source) == ("spring-ms", "article")


def test_the_time_zone_falls_back_to_the_phone_number_then_the_clinic(app, client):
    send_step(client, "/inquiry", {**CONTACT, "phone": "+44 20 7946 0958", "country": "GB"})
    send_step(
        app.test_client(),
        "/inquiry",
        {**CONTACT, "email": "x@example.org", "phone": "", "country": "US"},
    )

    by_source = {lead.time_zone_source: lead.time_zone for lead in rows(app, Lead)}
    assert by_source == {"phone": "Europe/London", "clinic": "America/New_York"}


def test_a_detected_time_zone_is_used_when_valid(app, client):
    shown = client.get("/inquiry")
    from tests.conftest import form_data

    hidden = {**hidden_fields(shown), "detected_time_zone": "Europe/Lisbon"}
    client.post("/inquiry", data=form_data(hidden, CONTACT))
    [lead] = rows(app, Lead)
    assert (lead.time_zone, lead.time_zone_source) == ("Europe/Lisbon", "browser")


def test_going_back_shows_saved_answers_and_editing_updates_them(app, client):
    send_step(client, "/inquiry", CONTACT)
    back = page(client.get("/inquiry"))
    assert back.find("input", id="first_name")["value"] == "Ada"

    send_step(client, "/inquiry", {**CONTACT, "first_name": "Augusta"})
    [lead] = rows(app, Lead)
    assert lead.first_name == "Augusta"
    assert len(rows(app, Inquiry)) == 1


def test_later_steps_without_a_draft_lead_back_to_the_start(client):
    response = client.get("/inquiry/health")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inquiry")
    assert client.get("/inquiry/not-a-step").status_code == 404


def test_sending_with_an_unanswered_earlier_step_returns_to_it(app, client):
    from tests.conftest import CONSENT

    send_step(client, "/inquiry", CONTACT)
    response = send_step(client, "/inquiry/consent", CONSENT)

    assert response.status_code == 302
    assert "/inquiry/about_ms" in response.headers["Location"]
    assert rows(app, Inquiry)[0].status == "draft"


def test_a_consent_on_step_one_is_recorded_when_given_and_when_withdrawn(app, client):
    send_step(client, "/inquiry", {**CONTACT, "consent_resume": "y"})
    send_step(client, "/inquiry", CONTACT)  # back to step 1, box unticked
    send_step(client, "/inquiry", CONTACT)  # unchanged: nothing new recorded

    records = [(c.purpose, c.granted) for c in rows(app, Consent)]
    assert records == [("resume_reminders", True), ("resume_reminders", False)]
