"""axe-core in Chromium (QUALITY.md A1): no WCAG 2.0, 2.1 and 2.2 A or AA violations on any
public page in any state, nor on the staff pages.

axe-core comes inside the PyPI package ``axe-playwright-python``; it is injected through the
DevTools protocol (``page.evaluate``), which the pages' strict CSP does not block, so the pages
are checked exactly as served. Every rule with those tags runs, colour contrast included.

Each test visits several pages and checks them all before failing, so one CI run lists every
violation on every page: rule id, impact, help text and where (the first few CSS selectors).
"""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from intake.accounts.signin import open_totp_secret
from intake.extensions import db
from intake.imports import service
from intake.imports.fields import FIELDS
from intake.messaging.texts import TextMessage, deliver_text
from intake.messaging.unsubscribe import unsubscribe_token
from intake.models import ArticleLink, ImportJob, Lead, StaffUser
from tests.browser.conftest import (
    DESKTOP,
    Keyboard,
    confirmed,
    fill,
    fill_about_ms,
    fill_contact,
    fill_health,
    give_consents_and_send,
    on_step,
    save_and_continue,
    send_step_one_nearly_empty,
)
from tests.browser.test_calendar_pages import sign_in as sign_in_page
from tests.conftest import CONTACT, complete_inquiry, send_step
from tests.factories import PASSWORD
from tests.imports.conftest import NOW, csv_bytes
from tests.imports.conftest import check as dry_run

pytestmark = pytest.mark.browser


def test_the_check_reports_what_it_finds(page, audit):
    """The check itself: a page with known faults fails, and the message says what and where."""
    page.set_content(
        '<html lang="en"><head><title>Faulty</title></head><body><main>'
        '<p class="faint">Too faint to read</p><input id="nameless"></main></body></html>'
    )
    page.add_style_tag(content=".faint { color: #bbb; }")
    audit.check(page, "a faulty page")
    with pytest.raises(AssertionError) as failed:
        audit.assert_clean()
    message = str(failed.value)
    assert "color-contrast [serious] Elements must meet minimum color contrast ratio" in message
    assert "label [critical]" in message
    assert "    p: Fix any of the following: Element has insufficient color contrast" in message
    assert "    #nameless: Fix any of the following:" in message


# --- The public pages, on a phone ------------------------------------------------------------


def test_every_state_of_the_inquiry_has_no_violations(app, live_server, page, audit):
    page.goto(f"{live_server}/inquiry")
    on_step(page, 1, "About you")
    audit.check(page, "step 1, empty")

    send_step_one_nearly_empty(page, live_server)
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check(page, "step 1, sent nearly empty (errors shown)")

    page.goto(f"{live_server}/inquiry")
    fill_contact(page, for_someone_else=True)  # the carer's questions show too
    save_and_continue(page)
    on_step(page, 2, "About your MS")
    audit.check(page, "step 2, empty")
    fill_about_ms(page)  # every follow-up question shows
    audit.check(page, "step 2, answered")
    save_and_continue(page)

    on_step(page, 3, "Health screening")
    audit.check(page, "step 3, empty")
    fill_health(page)
    save_and_continue(page)

    on_step(page, 4, "Check and send")
    audit.check(page, "step 4 (review and consents)")
    page.get_by_role("button", name="Send my inquiry").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check(page, "step 4, sent without consents (errors shown)")
    give_consents_and_send(page)

    confirmed(page)
    audit.check(page, "confirmation")
    audit.assert_clean()


def test_the_saved_expired_unsubscribe_and_missing_pages_have_no_violations(
    app, live_server, page, new_context, audit
):
    page.goto(f"{live_server}/inquiry")
    fill_contact(page)
    save_and_continue(page)
    on_step(page, 2, "About your MS")
    fill(page, "In what year was it diagnosed?", "2015")
    page.get_by_role("button", name="Save and finish later").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your answers are saved")
    audit.check(page, "answers saved (resume link)")

    response = page.goto(f"{live_server}/inquiry/resume/not-a-real-token")
    assert response is not None and response.status == 410
    audit.check(page, "resume link expired")

    with app.app_context():
        lead_id = db.session.scalar(db.select(Lead.id))
        token = unsubscribe_token(lead_id)
    page.goto(f"{live_server}/unsubscribe/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Stop emails about your inquiry")
    audit.check(page, "unsubscribe")
    page.get_by_role("button", name="Stop emails").click()
    expect(page.get_by_role("status")).to_contain_text("You will not get more emails")
    audit.check(page, "unsubscribed")

    response = page.goto(f"{live_server}/no-such-page")
    assert response is not None and response.status == 404
    audit.check(page, "page not found (404)")

    for language in ("en", "es"):
        page.goto(f"{live_server}/{language}/embed/inquiry?utm_source=website")
        expect(page.get_by_role("link", name=re.compile("^(Start|Empezar)"))).to_be_visible()
        audit.check(page, f"embedded start ({language}), opened on its own")

    # Without inquiry.js every conditional question and its "Only if you answered …" note
    # shows. axe itself needs JavaScript (with it turned off, axe.run never settles), so the
    # page's own script is blocked instead: the page is then what a browser without JS shows.
    no_script = new_context().new_page()
    no_script.route("**/inquiry.js", lambda route: route.abort("blockedbyclient"))
    no_script.goto(f"{live_server}/inquiry")
    on_step(no_script, 1, "About you")
    expect(no_script.locator(".condition-note").first).to_be_visible()
    audit.check(no_script, "step 1, empty, without the page's script")
    audit.assert_clean()


def test_the_notices_the_shared_device_choice_and_the_welcome_back_have_no_violations(
    app, live_server, page, audit
):
    page.goto(f"{live_server}/privacy")
    audit.check(page, "privacy notice")
    page.goto(f"{live_server}/terms")
    audit.check(page, "terms of use")
    page.goto(f"{live_server}/inquiry")
    fill_contact(page)
    save_and_continue(page)
    page.get_by_role("button", name="Save and finish later").click()
    expect(page.get_by_role("status").first).to_contain_text("We are emailing you a link")
    audit.check(page, "answers saved, the link being emailed, the copy button shown")
    link = page.locator("#resume-link a").inner_text()
    page.get_by_role("button", name="This is a shared device").click()
    audit.check(page, "shared device: this browser keeps nothing")
    page.goto(link)
    expect(page.locator(".welcome")).to_contain_text("Welcome back, Ada.")
    audit.check(page, "welcome back, where the patient left off")
    page.locator("footer").get_by_role("button", name="Privacy notice").click()
    expect(page.get_by_role("button", name="Back to your answers").first).to_be_visible()
    audit.check(page, "privacy notice opened from a step, with the way back")
    audit.assert_clean()


# --- The staff pages, on a desktop -----------------------------------------------------------


@pytest.fixture
def admin_and_leads(app, make_staff):
    """An admin (with their authenticator secret), staff of each role, a few completed
    inquiries, one left unfinished, and a possible duplicate of the first lead (so its lead
    page shows the merge form too). Returns the first lead's id and the admin's secret."""
    admin = make_staff("admin", team="Team A", email="admin@clinic.example", name="Grace Hopper")
    make_staff("coordinator", team="Team A", name="Alan Turing")
    make_staff("clinician", name="Mary Somerville")
    people = [
        ("Ada", "Byron", "2025550143"),
        ("Charles", "Babbage", "2025550177"),
        ("Emmy", "Noether", "2025550188"),
    ]
    for first, last, phone in people:
        contact = {
            **CONTACT,
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}@example.org",
            "phone": phone,
        }
        complete_inquiry(app.test_client(), inquiry=contact)
    unfinished = {
        **CONTACT,
        "first_name": "Sofia",
        "last_name": "Kovalevskaya",
        "email": "sofia@example.org",
        "phone": "2025550199",
    }
    send_step(app.test_client(), "/inquiry", unfinished)
    # Ada's email with another name: a lead of its own, and a possible duplicate of Ada's.
    augusta = {"first_name": "Augusta", "email": "Ada.Byron@example.org", "phone": "2025550111"}
    complete_inquiry(app.test_client(), inquiry={**CONTACT, **augusta})
    with app.app_context():
        lead_id = db.session.scalar(db.select(Lead.id).order_by(Lead.id))
        secret = open_totp_secret(db.session.get(StaffUser, admin))
        body = "Hi Ada, we tried to call you.\nCan we call you tomorrow?"  # Ada's number
        deliver_text(TextMessage(recipient="+12025550143", body=body, message_id="text-axe"))
        db.session.commit()
    return lead_id, secret


def test_the_staff_pages_have_no_violations(app, live_server, desktop_page, audit, admin_and_leads):
    lead_id, secret = admin_and_leads
    page = desktop_page
    assert page.viewport_size == DESKTOP["viewport"]

    page.goto(f"{live_server}/staff/login")
    audit.check(page, "sign in")
    page.get_by_label("Email address").fill("admin@clinic.example")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check(page, "sign in, refused (error shown)")

    page.get_by_label("Email address").fill("admin@clinic.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/staff/login/code"))
    audit.check(page, "authenticator code")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/staff/login" not in page.url

    with app.app_context():
        db.session.add(ArticleLink(title="What is MS?", utm_content="what-is-ms",
                                   utm_campaign="ms-msc"))  # fmt: skip
        db.session.commit()
    pages = [
        ("lead queue", "/staff/"),
        ("lead page (completed inquiry, as an admin)", f"/staff/leads/{lead_id}"),
        ("dashboard", "/staff/dashboard"),
        ("where leads come from", "/staff/dashboard/attribution"),
        ("links for articles", "/staff/articles"),
        ("article form", "/staff/admin/articles/new"),
        ("administration home", "/staff/admin/"),
        ("staff list", "/staff/admin/staff"),
        ("team form (outside members' hours)", "/staff/admin/teams/new"),
        ("cadences", "/staff/admin/cadences"),
        ("message templates", "/staff/admin/templates"),
        ("message template (email)", "/staff/admin/templates/first_reply/email/en"),
        ("message template (Spanish text)", "/staff/admin/templates/not_candidate/text/es"),
        ("message template, a version", "/staff/admin/templates/first_reply/email/es/versions/0"),
        ("audit log", "/staff/admin/audit"),
        ("captured texts", "/staff/admin/mail/texts"),
        ("API keys", "/staff/admin/api-keys"),
        ("API reference", "/api/v1/docs"),
        ("possible duplicates", "/staff/duplicates"),
    ]
    for name, path in pages:
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, (name, response)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        audit.check(page, name)
        # What a closed <details> holds is hidden, and axe skips it: open each and look again.
        closed, opened = page.locator("details:not([open]) > summary"), 0
        while closed.count():
            closed.first.click()
            opened += 1
        if opened:
            audit.check(page, f"{name}, every <details> opened")

    page.goto(f"{live_server}/staff/leads/{lead_id}")
    expect(
        page.get_by_role("button", name=re.compile(r"^Merge lead \d+ into this lead$"))
    ).to_be_visible()
    calls = page.get_by_role("group", name="How did the call go?")
    calls.get_by_label("Reached the patient").check()
    page.get_by_role("button", name="Log call").click()
    expect(page.get_by_role("status")).to_contain_text("Call logged")
    audit.check(page, "lead page after logging a call (message shown)")

    page.goto(f"{live_server}/staff/duplicates")
    page.get_by_role("link", name=re.compile(r"^Compare leads")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Compare leads")
    audit.check(page, "two leads compared")
    page.get_by_role("button", name="Record as not the same person").click()
    expect(page.get_by_text("Tick the box to confirm")).to_be_visible()
    audit.check(page, "two leads compared, error shown")
    page.get_by_role("radio", name=re.compile(r"^Keep lead \d+")).first.check()
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Undo merge"))).to_be_visible()
    audit.check(page, "lead page after a merge (undo offered)")
    audit.assert_clean()


# --- The lead import's pages, on a desktop ----------------------------------------------------

IMPORT_ROWS = [["Ada", "Byron", "ada@example.org", "+12025550143", "US"],
               ["Bad", "Row", "not-an-email", "", "US"]]  # fmt: skip


def _upload(page, name: str, data: bytes) -> None:
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="Upload").click()


def test_the_import_pages_have_no_violations_and_the_mapping_works_by_keyboard(
    app, live_server, desktop_page, audit, make_staff, script_errors
):
    """Every state of an import an admin can reach: the list and upload form, an upload
    refused, the mapping (each select labelled, chosen with the keyboard alone), the dry run
    under way and its report with errors, the import under way, and the final report."""
    admin = make_staff("admin", email="admin@clinic.example", name="Grace Hopper")
    with app.app_context():
        secret = open_totp_secret(db.session.get(StaffUser, admin))
    page = desktop_page
    sign_in_page(page, live_server, secret)
    page.goto(f"{live_server}/staff/admin/imports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import leads")
    audit.check(page, "imports, none yet (upload form)")

    _upload(page, "no-header.csv", csv_bytes(IMPORT_ROWS[1:], headers=IMPORT_ROWS[0]))
    expect(page.get_by_role("status")).to_contain_text("The first row must name the columns")
    expect(page.locator("body")).not_to_contain_text("ada@example.org")
    audit.check(page, "imports, upload refused (error shown)")

    _upload(page, "leads.csv", csv_bytes(IMPORT_ROWS))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Import \d+$"))
    expect(page.locator("#import-status")).to_have_text("Waiting for the columns to be chosen")
    audit.check(page, "import at the mapping")
    for name in FIELDS.values():  # each select found by its own label
        labelled_select = page.get_by_label(str(name), exact=True)
        assert labelled_select.evaluate("el => el.tagName") == "SELECT", name
    keys = Keyboard(page)
    keys.tab_to("map_first_name", most=80)
    keys.pick("map_phone", "N")  # "Not imported"
    expect(page.locator("#map_phone")).to_have_value("")
    for _ in range(20):
        if keys.press("Tab")["tag"] == "BUTTON":
            break
    expect(page.locator(":focus")).to_have_text("Run the dry run")
    page.keyboard.press("Enter")
    expect(page.locator("#import-status")).to_have_text("Dry run under way")
    expect(page.get_by_role("link", name="Check the progress now")).to_be_visible()
    audit.check(page, "dry run under way (progress, follows the worker)")
    with app.app_context():
        job = db.session.scalars(db.select(ImportJob)).one()
        job_id, mapping = job.id, dict(job.mapping)
    assert "phone" not in mapping and mapping["email"] == 2

    dry_run(app, job_id, mapping=mapping)  # the page sees the worker finish, no reload asked
    expect(page.locator("#import-status")).to_have_text(
        "Dry run done: ready to import", timeout=15_000
    )
    expect(page.get_by_role("table", name=re.compile("rows with errors"))).to_be_visible()
    audit.check(page, "dry run report, errors listed")

    page.get_by_role("button", name="Import the rows without errors").click()
    expect(page.locator("#import-status")).to_have_text("Import under way")
    expect(page.locator(".progress-count")).to_have_text("0 of 2 rows")
    audit.check(page, "import under way (progress, follows the worker)")
    with app.app_context():
        assert service.run_import(job_id, clock=lambda: NOW, commit=db.session.commit,
                                  batch=500) == "done"  # fmt: skip
    expect(page.locator("#import-status")).to_have_text("Imported", timeout=15_000)
    audit.check(page, "final report")
    page.goto(f"{live_server}/staff/admin/imports")
    expect(page.get_by_role("cell", name="Imported", exact=True)).to_be_visible()
    audit.check(page, "imports, one done")
    for status, shown in (("failed", "Stopped by an error"), ("cancelled", "Cancelled")):
        with app.app_context():  # the states a worker's error or an admin's cancel leave
            job = db.session.get(ImportJob, job_id)
            job.status, job.failure = status, "OperationalError"
            db.session.commit()
        page.goto(f"{live_server}/staff/admin/imports/{job_id}")
        expect(page.locator("#import-status")).to_have_text(shown)
        audit.check(page, f"import {status}")
    audit.assert_clean()
    assert script_errors == []
