"""In Chromium, with real parts: "Save and finish later" pressed on step 1 shows the saved page
with the link, a real Celery worker emails the link at once to a real SMTP sink (aiosmtpd), and
that emailed link, opened in another browser context (another device: no cookies of the first),
greets the patient back and shows every answer they typed.

Its own module because it replaces ``app`` with the workers' app (which needs Redis), and
``database_url`` with this test's own SQLite file, shared by the live server and the worker:
the browser tests' database, so nothing is left in the session's databases."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fill_contact, on_step
from tests.live import wait_until
from tests.workers import conftest as worker_fixtures
from tests.workers.conftest import PATIENT, sends

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

# The worker tests' Celery process, SMTP sink and shared settings, used by name.
sink_class = worker_fixtures.sink_class
smtp_sink = worker_fixtures.smtp_sink
start_worker = worker_fixtures.start_worker
worker_app = worker_fixtures.worker_app
worker_settings = worker_fixtures.worker_settings
SUBJECT = "Your link to finish your inquiry"


@pytest.fixture
def database_url(migrated_sqlite, tmp_path) -> str:
    """This test's own migrated SQLite file, for the live server and the worker alike."""
    path = tmp_path / "shared.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(worker_app):
    """The live server runs the app configured exactly like the worker."""
    return worker_app


def test_the_link_saved_in_chromium_is_emailed_by_a_worker_and_opens_the_draft_elsewhere(
    app, live_server, page, new_context, smtp_sink, worker_settings, start_worker, script_errors
):
    sink, _ = smtp_sink
    # The worker builds the emailed link from its own INTAKE_BASE_URL: the live server's, as
    # web and worker share one in production (read when the worker starts, just below).
    worker_settings["INTAKE_BASE_URL"] = live_server
    start_worker()  # no beat: only the web process's nudge can get the email out quickly

    page.goto(f"{live_server}/inquiry")
    on_step(page, 1, "About you")
    fill_contact(page)  # with the address Ada.Byron@Example.org
    page.get_by_role("button", name="Save and finish later").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your answers are saved")
    expect(page.get_by_role("status").first).to_contain_text(
        "We are emailing you a link to finish your inquiry later"
    )
    shown = page.locator("#resume-link a")
    expect(shown).to_have_text(re.compile(rf"^{re.escape(live_server)}/inquiry/resume/\S+$"))

    [mail] = sink.wait_for(lambda m: m["Subject"] == SUBJECT, timeout=120)
    assert mail["To"] == PATIENT
    text = mail.get_body(("plain",)).get_content()
    assert text.startswith("Hello Ada,")
    [emailed] = re.findall(rf"{re.escape(live_server)}/inquiry/resume/\S+", text)
    # The worker records "sent" just after the SMTP server's reply, so the row may lag the mail.
    wait_until(lambda: [row.status for row in sends(app, "resume_link")] == ["sent"])

    elsewhere = new_context().new_page()  # another device: none of the first one's cookies
    elsewhere.goto(emailed)
    on_step(elsewhere, 2, "About your MS")  # step 1 was finished: the next one is up
    greeting = elsewhere.locator(".welcome")
    expect(greeting).to_contain_text("Welcome back, Ada.")
    expect(greeting).to_contain_text("You had finished step 1 of 4: About you.")
    elsewhere.get_by_role("link", name="Back to the previous step").click()
    on_step(elsewhere, 1, "About you")
    expect(elsewhere.get_by_label("First name of the person with MS")).to_have_value("Ada")
    expect(elsewhere.get_by_label("Last name of the person with MS")).to_have_value("Byron")
    # As stored: the address lower-cased, the phone number in international form.
    expect(elsewhere.get_by_label("Email address of the person with MS")).to_have_value(PATIENT)
    expect(elsewhere.get_by_label("Phone number of the person with MS")).to_have_value(
        "+12025550143"
    )
    expect(elsewhere.get_by_role("radio", name="Email", exact=True)).to_be_checked()
    expect(elsewhere.get_by_label("ZIP or postal code (optional)")).to_have_value("22201")
    assert script_errors == []
