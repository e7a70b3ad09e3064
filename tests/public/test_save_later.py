"""Save and finish later: the link emailed at once through the send ledger (once a press, never
a flood), shown with a copy button and no advice to bookmark; a shared device keeps nothing;
coming back greets the patient and says where they left off; the draft cookie is short-lived."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from intake.config import load_config
from intake.extensions import db
from intake.messaging.mail import render_message
from intake.models import Inquiry, Send
from intake.models.types import utcnow
from tests.conftest import ABOUT_MS, CONTACT, page, send_step


def ledger(app) -> list[Send]:
    with app.app_context():
        return db.session.scalars(db.select(Send).where(Send.cadence == "resume_link")).all()


def save_on_step_two(client, contact=CONTACT):
    send_step(client, "/inquiry", contact)
    return send_step(client, "/inquiry/about_ms", ABOUT_MS, action="save_later")


def test_saving_with_an_email_address_puts_the_link_in_the_send_ledger_at_once(app, client):
    before = utcnow()
    response = save_on_step_two(client)

    assert response.status_code == 200
    text = " ".join(page(response).get_text().split())
    assert "We are emailing you a link" in text and "a•••@example.org" in text
    assert "bookmark" not in text.lower()
    [row] = ledger(app)
    assert (row.status, row.template, row.step) == ("scheduled", "resume_link", 0)
    assert before <= row.due_at <= utcnow()  # due now: the worker sends it straight away
    with app.app_context():
        assert row.inquiry_id == db.session.scalars(db.select(Inquiry)).one().id


def test_the_link_is_shown_as_selectable_text_with_a_copy_button_for_script(client):
    html = page(save_on_step_two(client))

    link = html.select_one("#resume-link a")
    assert link["href"] == link.get_text() and "/inquiry/resume/" in link["href"]
    button = html.select_one("button[data-copy='resume-link']")
    assert button.has_attr("hidden") and button["type"] == "button"  # script reveals it
    assert html.select_one("script[src$='/static/copy.js']") is not None
    assert html.select_one("#copy-status[role=status]") is not None


def test_without_an_email_address_nothing_is_sent_and_the_page_says_to_copy_the_link(app, client):
    phone_only = {**CONTACT, "email": "", "preferred_contact_method": "phone"}
    text = page(save_on_step_two(client, phone_only)).get_text()

    assert "We have no email address to send a link to" in text
    assert ledger(app) == []


def test_a_second_press_soon_after_sends_no_second_email(app, client):
    save_on_step_two(client)
    again = send_step(client, "/inquiry/health", {}, action="save_later")

    assert "a few minutes ago" in page(again).get_text()
    assert len(ledger(app)) == 1


def test_the_email_greets_by_first_name_and_carries_a_fresh_link_and_nothing_else(app, client):
    save_on_step_two(client)
    [row] = ledger(app)
    with app.app_context():
        message = render_message(send=db.session.get(Send, row.id), now=utcnow())

    assert message.recipient == "ada.byron@example.org"
    assert message.subject == "Your link to finish your inquiry"
    assert message.text.startswith("Hello Ada,")
    assert "/inquiry/resume/" in message.text and "/inquiry/resume/" in message.html
    for health in ("RRMS", "Ocrevus", "cane", "4.5", "fatigue"):
        assert health not in message.text and health not in message.html


def test_a_shared_device_keeps_nothing_in_the_browser(client):
    save_on_step_two(client)
    assert client.get("/inquiry/health").status_code == 200  # the draft cookie knows the draft

    forgotten = client.post("/inquiry/forget")

    assert forgotten.status_code == 200
    assert "This browser no longer keeps your answers" in page(forgotten).get_text()
    cookie = forgotten.headers["Set-Cookie"]
    assert cookie.startswith("intake_session=;") and "Max-Age=0" in cookie
    assert client.get_cookie("intake_session") is None
    assert client.get("/inquiry/health").headers["Location"].endswith("/inquiry")


def test_the_draft_cookie_lasts_the_configured_short_time(app_factory):
    app = app_factory(PERMANENT_SESSION_LIFETIME=timedelta(hours=3))
    response = send_step(app.test_client(), "/inquiry", CONTACT)

    cookie = response.headers["Set-Cookie"]
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert cookie.startswith("intake_session=")
    assert timedelta(hours=3) - timedelta(minutes=1) < expires - utcnow() <= timedelta(hours=3)


def test_the_draft_cookie_lifetime_is_a_setting_of_a_day_by_default(monkeypatch, tmp_path):
    assert load_config(tmp_path, "testing")["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=24)
    monkeypatch.setenv("INTAKE_DRAFT_COOKIE_HOURS", "2")
    assert load_config(tmp_path, "testing")["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)


def test_opening_the_link_greets_the_patient_once_with_where_they_left_off(app, client):
    shown = page(save_on_step_two(client)).select_one("#resume-link a")["href"]
    assert shown.startswith(app.config["INTAKE_BASE_URL"])  # never the Host header's
    link = urlsplit(shown).path
    device = app.test_client()

    assert device.get(link).headers["Location"].endswith("/inquiry/health")
    welcome = page(device.get("/inquiry/health")).select_one(".welcome[role=status]")
    assert " ".join(welcome.get_text().split()) == (
        "Welcome back, Ada. You had finished step 2 of 4: About your MS. You can carry on here."
    )
    assert page(device.get("/inquiry/health")).select_one(".welcome") is None


def test_a_caregiver_is_greeted_by_their_own_first_name(app, client):
    caregiver = {
        **CONTACT,
        "filled_by": "someone_else",
        "caregiver_first_name": "Mary",
        "caregiver_last_name": "Somerville",
        "caregiver_relationship": "partner",
        "caregiver_email": "mary@example.org",
    }
    saved = send_step(client, "/inquiry", caregiver, action="save_later")
    link = urlsplit(page(saved).select_one("#resume-link a")["href"]).path
    device = app.test_client()

    device.get(link)
    welcome = page(device.get("/inquiry/about_ms")).select_one(".welcome").get_text()
    assert "Welcome back, Mary." in " ".join(welcome.split())
    assert "You had finished step 1 of 4: About you." in " ".join(welcome.split())
