"""The coordinator's day in Chromium: sign in with a password and an authenticator code, find
a lead by searching for it, log a call, move it on, and see on its timeline that the automatic
follow-up emails stopped. A real inquiry, sent through the public form, is the lead."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from intake.accounts.signin import open_totp_secret
from intake.extensions import db
from intake.jobs import relay_outbox
from intake.models import Lead, Send, StaffUser, Team
from intake.models.types import utcnow
from tests.conftest import complete_inquiry
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def coordinator_and_lead(app, make_staff):
    """A coordinator of Team A, and Ada Byron's completed inquiry owned by them, with her
    nurture emails planned (the relay the workers run, called directly)."""
    coordinator = make_staff("coordinator", team="Team A", email="coord@clinic.example")
    complete_inquiry(app.test_client())
    with app.app_context():
        relay_outbox(now=utcnow())
        lead = db.session.scalar(db.select(Lead))
        lead.owner_id = coordinator
        lead.team_id = db.session.scalar(db.select(Team.id).where(Team.name == "Team A"))
        db.session.commit()
        nurture = db.session.scalars(db.select(Send).where(Send.cadence == "nurture")).all()
        assert nurture and all(send.status == "scheduled" for send in nurture)
        secret = open_totp_secret(db.session.get(StaffUser, coordinator))
        return lead.id, secret


def test_a_coordinator_signs_in_finds_a_lead_logs_a_call_and_sees_follow_ups_stop(
    app, live_server, desktop_page, script_errors, coordinator_and_lead
):
    lead_id, secret = coordinator_and_lead
    page = desktop_page

    page.goto(f"{live_server}/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    page.get_by_label("Email address").fill("coord@clinic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/staff/login" not in page.url

    page.get_by_label("Search by name, email or phone").fill("byron")
    page.get_by_label("Search by name, email or phone").press("Enter")
    assert "byron" not in page.url.lower()  # the term never travels in a URL
    page.get_by_role("link", name=re.compile("Ada Byron")).click()
    expect(page).to_have_url(re.compile(rf"/staff/leads/{lead_id}$"))

    calls = page.get_by_role("group", name="How did the call go?")
    calls.get_by_label("Reached the patient").check()
    page.get_by_label("Summary (optional)").fill("Talked through the next steps.")
    page.get_by_role("button", name="Log call").click()
    expect(page.get_by_role("status")).to_contain_text("Call logged")

    page.get_by_label("New status").select_option("screening")
    page.get_by_label("Reason (required when closing the lead)").fill("Ready for screening.")
    page.get_by_role("button", name="Change status").click()

    timeline = page.locator("section", has=page.get_by_role("heading", name="Timeline"))
    expect(timeline).to_contain_text("Cancelled: Nurture email")
    expect(timeline).to_contain_text("because the lead was contacted")
    expect(timeline).to_contain_text("Screening")
    assert script_errors == []
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.status == "screening" and lead.first_contacted_at is not None
        statuses = db.session.scalars(db.select(Send.status).where(Send.cadence == "nurture"))
        assert set(statuses) == {"cancelled"}
