"""The privacy notice and terms pages, opening them from a step without losing a typed answer
(sent or not, with no script), and the consent recording the notice's version and hash."""

from __future__ import annotations

import pytest

from intake.extensions import db
from intake.models import Consent, Inquiry, Lead
from intake.questionnaire.definition import load_definition
from tests.conftest import (
    CONSENT,
    STEPS,
    form_data,
    hidden_fields,
    page,
    send_step,
    shown_values,
)

QUESTIONNAIRE = load_definition("ms_inquiry").questionnaire


def privacy_of(app):
    return app.extensions["intake.notices"]["privacy"]


@pytest.mark.parametrize(("url", "title"), [("/privacy", "Privacy notice"), ("/terms", "Terms")])
def test_the_notice_pages_show_the_clinics_text_and_version(app_factory, url, title):
    app = app_factory(INTAKE_CLINIC_NAME="Northbridge MS Clinic")
    response = app.test_client().get(url)

    assert response.status_code == 200
    html = page(response)
    assert html.h1.get_text().startswith(title)
    version = " ".join(html.select_one(".notice-version").get_text().split())
    assert version == "Version 2026.12.1, last updated 6 December 2026."
    assert "Northbridge MS Clinic" in html.select_one(".notice-text").get_text()
    assert "{" not in html.select_one(".notice-text").get_text()


def test_every_public_page_links_to_the_notices_in_its_footer(app, client):
    for url in ("/inquiry/sent", "/privacy", "/inquiry/resume/unknown"):
        footer = page(client.get(url)).select_one("footer")
        assert [a["href"] for a in footer.select("a")] == ["/privacy", "/terms"], url
    # On a step, they are buttons of the step's form: opening one keeps what was typed.
    footer = page(client.get("/inquiry")).select_one("footer")
    buttons = [(b["form"], b["value"]) for b in footer.select("button")]
    assert buttons == [("inquiry-form", "notice:privacy"), ("inquiry-form", "notice:terms")]
    assert page(client.get("/inquiry")).select_one("form#inquiry-form") is not None


def through_health(client):
    for url, answers in STEPS[:3]:
        assert send_step(client, url, answers).status_code == 302


def test_the_privacy_notice_opens_from_the_consent_step_and_the_way_back_keeps_every_tick(
    app, client
):
    through_health(client)
    shown = client.get("/inquiry/consent")
    button = page(shown).select_one(".notice-link button")
    assert (button["name"], button["value"]) == ("action", "notice:privacy")
    typed = {"consent_email": "y", "consent_phone": "y", "not_medical_advice": "y"}

    notice = client.post(
        "/inquiry/consent", data=form_data(hidden_fields(shown), typed, "notice:privacy")
    )

    assert notice.status_code == 200
    html = page(notice)
    assert html.h1.get_text() == "Privacy notice"
    assert "Who we are" in html.get_text()
    back = html.select_one("form.notice-back")
    assert back["action"] == "/inquiry/consent"
    carried = hidden_fields(notice)
    assert {key: carried[key] for key in typed} == typed
    returned = client.post("/inquiry/consent", data=form_data(carried, {}, "back"))
    assert returned.status_code == 200
    assert dict(shown_values(page(returned))) == typed
    assert not page(returned).select(".error-summary")
    with app.app_context():  # the step was saved on the way too (nothing sent yet)
        [inquiry] = db.session.scalars(db.select(Inquiry)).all()
        assert inquiry.status == "draft"


def test_the_notice_from_a_first_step_never_sent_keeps_the_typing_and_creates_no_lead(app, client):
    shown = client.get("/inquiry")
    typed = {"first_name": "Ada", "email": "not-an-address-yet", "country": "US"}

    notice = client.post("/inquiry", data=form_data(hidden_fields(shown), typed, "notice:terms"))

    assert page(notice).h1.get_text() == "Terms of use"
    returned = client.post("/inquiry", data=form_data(hidden_fields(notice), {}, "back"))
    values = shown_values(page(returned))
    assert (values["first_name"], values["email"], values["country"]) == (
        "Ada", "not-an-address-yet", "US",
    )  # fmt: skip
    with app.app_context():
        assert db.session.scalars(db.select(Lead)).all() == []


def test_the_privacy_consent_records_the_notices_version_and_hash(app, client):
    through_health(client)
    send_step(client, "/inquiry/consent", CONSENT)

    with app.app_context():
        consents = {c.purpose: c for c in db.session.scalars(db.select(Consent))}
    privacy = privacy_of(app)
    assert (consents["privacy_notice"].text_version, consents["privacy_notice"].text_hash) == (
        "privacy-2026.12.1", privacy.text_hash,
    )  # fmt: skip
    email_item = QUESTIONNAIRE.items["consent_email"]
    assert (consents["contact_email"].text_version, consents["contact_email"].text_hash) == (
        QUESTIONNAIRE.version, email_item.text_hash,
    )  # fmt: skip


def test_a_notice_changed_while_the_page_was_open_is_shown_again_before_sending(app, client):
    through_health(client)
    shown = client.get("/inquiry/consent")
    hidden = {**hidden_fields(shown), "privacy_version": "privacy-2025.1"}

    response = client.post("/inquiry/consent", data=form_data(hidden, CONSENT))

    assert response.status_code == 422
    assert "We updated our privacy notice" in page(response).get_text()
    assert shown_values(page(response))["privacy_notice"] == "y"
    with app.app_context():
        assert db.session.scalars(db.select(Consent)).all() == []
        assert db.session.scalars(db.select(Inquiry)).one().status == "draft"


def test_what_the_notice_carries_back_is_escaped_and_only_the_steps_own_fields(client):
    shown = client.get("/inquiry")
    typed = {"first_name": '"><script>alert(1)</script>', "region": "Virginia"}

    notice = client.post("/inquiry", data=form_data(hidden_fields(shown), typed, "notice:privacy"))

    body = notice.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert hidden_fields(notice)["first_name"] == typed["first_name"]  # kept, as text
    assert "action" not in hidden_fields(notice)  # the way back names its own action
