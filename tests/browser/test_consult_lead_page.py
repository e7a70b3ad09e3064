"""The consult on the lead page in Chromium: axe on the free times, after booking one (the
booked consult with its move list and cancel form), once its time has come (done / no-show),
and after a clash (the message beside the list). Radio buttons and plain forms: no script."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from intake.accounts.signin import open_totp_secret
from intake.extensions import db
from intake.models import Lead, StaffUser
from intake.staff.leads import consult_views, lead_views
from tests.browser.test_conversation import sign_in
from tests.conftest import complete_inquiry
from tests.consults.factories import make_consult_type
from tests.factories import NOW

pytestmark = pytest.mark.browser


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = NOW

    for module in (lead_views, consult_views):
        monkeypatch.setattr(module, "utcnow", lambda: Clock.now)
    return Clock


@pytest.fixture
def lead_and_secret(app, make_staff):
    coordinator = make_staff("coordinator", email="coord@clinic.example", name="Alan Turing",
                             time_zone="Europe/Madrid")  # fmt: skip
    host = make_staff("clinician", name="Mary Somerville")
    complete_inquiry(app.test_client())
    with app.app_context():
        make_consult_type(hosts=[host], name="Video consult")
        lead_id = db.session.scalar(db.select(Lead.id))
        secret = open_totp_secret(db.session.get(StaffUser, coordinator))
        db.session.commit()
    return lead_id, secret


def test_the_consult_states_of_the_lead_page_have_no_violations(
    app, live_server, desktop_page, audit, clock, lead_and_secret
):
    lead_id, secret = lead_and_secret
    page: Page = desktop_page
    sign_in(page, live_server, secret)
    page.goto(f"{live_server}/staff/leads/{lead_id}")
    times = page.get_by_role("group", name=re.compile(r"^Free times"))
    expect(times.get_by_role("radio")).to_have_count(12)
    audit.check(page, "lead page, free times to book")

    page.get_by_role("link", name="Later free times").click()
    audit.check(page, "lead page, later free times")

    page.goto(f"{live_server}/staff/leads/{lead_id}")
    times.get_by_label(re.compile(r"^Wed 4 Mar 2026, 15:00 CET, with Mary Somerville")).check()
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("status")).to_contain_text("Consult booked for Wed 4 Mar 2026")
    expect(page.get_by_role("heading", name="Move the consult")).to_be_visible()
    audit.check(page, "lead page with a booked consult (move and cancel)")

    page.get_by_role("button", name="Cancel the consult").click()
    expect(page.locator("#cancel-confirm-error")).to_contain_text("Tick the box")
    audit.check(page, "lead page, cancelling without the tick (error shown)")

    clock.now = NOW + timedelta(days=1, hours=1)  # past its start
    page.goto(f"{live_server}/staff/leads/{lead_id}")
    expect(page.get_by_role("button", name="Mark no-show")).to_be_visible()
    audit.check(page, "lead page, the consult's time has come (done / no-show)")
    audit.assert_clean()
