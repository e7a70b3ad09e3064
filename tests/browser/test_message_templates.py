"""The message template page in Chromium: the preview follows what the admin types (the page's
own script, under the strict CSP), the Preview button does the same with script off, and a
refused health placeholder keeps what was typed; axe on every state shown with script on."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from intake.accounts.signin import open_totp_secret
from intake.conversations.templates import current
from intake.extensions import db
from intake.models import StaffUser
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

EDIT = "/staff/admin/templates/could_not_reach/text/es"


@pytest.fixture
def admin_secret(app, make_staff):
    admin = make_staff("admin", email="admin@clinic.example", name="Grace Hopper")
    with app.app_context():
        return open_totp_secret(db.session.get(StaffUser, admin))


def sign_in(page, live_server: str, secret: str) -> None:
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email address").fill("admin@clinic.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_the_preview_follows_what_the_admin_types_and_a_version_is_saved(
    app, live_server, desktop_page, audit, script_errors, admin_secret
):
    page = desktop_page
    sign_in(page, live_server, admin_secret)
    page.goto(f"{live_server}/staff/admin/")
    page.get_by_role("link", name="Message templates").click()
    audit.check(page, "message templates")
    page.get_by_role(
        "link", name=re.compile(r"^Could not reach you\s*, text message, Español")
    ).click()
    expect(page).to_have_url(re.compile(f"{EDIT}$"))
    audit.check(page, "message template (a Spanish text)")

    page.get_by_label("Message").fill("Hola, {{ first_name }}. ¿Cuándo le llamamos?")
    preview = page.locator("#preview-body")
    expect(preview).to_have_text("Hola, Sample. ¿Cuándo le llamamos?")
    expect(page.locator("#preview-segments")).to_contain_text("1 part")
    page.get_by_label("Message").fill("Hola. Su {{ ms_type }}.")
    expect(page.locator("#template-preview")).to_contain_text("No preview until")
    page.get_by_role("button", name="Save a new version").click()
    expect(page.locator("#body-error")).to_contain_text("{{ ms_type }} is a health answer.")
    expect(page.get_by_label("Message")).to_have_value("Hola. Su {{ ms_type }}.")
    audit.check(page, "message template refused (error shown)")

    page.get_by_label("Message").fill("Hola, {{ first_name }}. ¿Le llamamos mañana?")
    expect(preview).to_have_text("Hola, Sample. ¿Le llamamos mañana?")
    page.get_by_role("button", name="Save a new version").click()
    expect(page.get_by_role("status")).to_contain_text("Version 1 is saved")
    audit.check(page, "message template saved (message shown)")
    with app.app_context():
        assert current("could_not_reach", "text", "es").version == 1
    page.get_by_role("link", name="Version 0").click()
    audit.check(page, "message template, a version")
    assert script_errors == []
    audit.assert_clean()


def test_without_script_the_preview_button_keeps_the_words_and_shows_errors_by_the_field(
    app, live_server, new_context, admin_secret
):
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server, admin_secret)
    page.goto(f"{live_server}/staff/admin/templates/first_reply/email/en")
    typed = "Hello {{ first_name }}, about your {{ edss }}."
    page.get_by_label("Message").fill(typed)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#body-error")).to_contain_text("{{ edss }} is a health answer.")
    expect(page.get_by_label("Message")).to_have_value(typed)

    page.get_by_label("Message").fill("Hello {{ first_name }}, speak soon.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-body")).to_have_text("Hello Sample, speak soon.")
    page.get_by_role("button", name="Save a new version").click()
    expect(page.get_by_role("status")).to_contain_text("Version 1 is saved")
    with app.app_context():
        assert current("first_reply", "email", "en").body == "Hello {{ first_name }}, speak soon.\n"
