"""Consult types, staff hours, the calendar and the feed page in Chromium: axe finds nothing on
any of them, errors shown included; and the week view fits a tablet (768 px) and a small phone
(320 px) without scrolling sideways."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from intake.accounts.signin import open_totp_secret
from intake.extensions import db
from intake.models import Consult, ConsultType, ConsultTypeHost, StaffUser
from intake.staff.admin import hours_views
from tests.browser.conftest import DESKTOP
from tests.browser.test_html_validity import check, html
from tests.factories import PASSWORD, make_lead

pytestmark = pytest.mark.browser

WEEK = "/staff/calendar/week?week=2026-03-02&staff=all"


@pytest.fixture
def admin_with_consults(app, make_staff):
    """An admin and a clinician who hold "Video consult with a long name" (so a line must wrap),
    each with consults in the week of 2 March 2026; the admin's authenticator secret."""
    admin = make_staff("admin", email="admin@clinic.example", name="Grace Hopper")
    host = make_staff("clinician", name="Mary Somerville", time_zone="America/New_York")
    with app.app_context():
        kind = ConsultType(name="Video consult about the treatment and its follow-up",
                           kind="video", video_url="https://meet.example/x")  # fmt: skip
        db.session.add(kind)
        db.session.flush()
        db.session.add(ConsultTypeHost(consult_type_id=kind.id, staff_user_id=host))
        start = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
        for number, (who, status) in enumerate(
            [(host, "booked"), (admin, "done"), (host, "no_show"), (host, "cancelled")]
        ):
            at = start + timedelta(days=number, hours=number)
            db.session.add(
                Consult(
                    uid=f"browser-{number}@intake.test",
                    lead_id=make_lead().id,
                    consult_type_id=kind.id,
                    staff_user_id=who,
                    starts_at=at,
                    ends_at=at + timedelta(minutes=30),
                    status=status,
                )  # fmt: skip
            )
        db.session.commit()
        return kind.id, host, open_totp_secret(db.session.get(StaffUser, admin))


def sign_in(page, live_server: str, secret: str) -> None:
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email address").fill("admin@clinic.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_the_consult_and_calendar_pages_have_no_violations(
    app, live_server, desktop_page, audit, admin_with_consults, monkeypatch
):
    type_id, host, secret = admin_with_consults
    # The hours page lists day changes from today on: today is Monday 2 March 2026.
    monkeypatch.setattr(hours_views, "utcnow", lambda: datetime(2026, 3, 2, 15, tzinfo=UTC))
    page = desktop_page
    sign_in(page, live_server, secret)
    pages = [
        ("consult types", "/staff/admin/consult-types"),
        ("consult type form", f"/staff/admin/consult-types/{type_id}"),
        ("a member's hours, as an admin", f"/staff/admin/staff/{host}/hours"),
        ("your own hours", "/staff/account/hours"),
        ("calendar feed", "/staff/account/calendar-feed"),
        ("calendar week, everyone", WEEK),
        ("calendar day", "/staff/calendar?day=2026-03-02&staff=all"),
    ]
    for name, path in pages:
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, (name, response)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        audit.check(page, name)

    page.goto(f"{live_server}/staff/admin/consult-types/{type_id}")
    page.get_by_label("Length in minutes").fill("0")
    page.get_by_role("button", name="Save the consult type").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check(page, "consult type form, error shown")

    page.goto(f"{live_server}/staff/admin/staff/{host}/hours")
    page.get_by_label("Tuesday").fill("09:00-12:00, 11:00-13:00")
    page.get_by_role("button", name="Save the weekly hours").click()
    expect(page.get_by_text("The periods on one day must not overlap.").first).to_be_visible()
    audit.check(page, "hours, error shown")
    page.get_by_label("Tuesday").fill("09:00-12:00")
    page.get_by_role("button", name="Save the weekly hours").click()
    page.get_by_label("Date").fill("2026-03-10")
    page.get_by_label("What changes").select_option("extra")
    page.get_by_label("From").fill("14:00")
    page.get_by_role("button", name="Add the day change").click()
    expect(page.get_by_text("Enter a time such as").first).to_be_visible()
    audit.check(page, "day change, error shown")
    page.get_by_label("To").fill("16:00")
    page.get_by_role("button", name="Add the day change").click()
    expect(page.get_by_role("table")).to_contain_text("Extra hours")
    audit.check(page, "hours with a day change listed")

    page.goto(f"{live_server}/staff/account/calendar-feed")
    page.get_by_role("button", name="Make a feed address").click()
    expect(page.get_by_label("Feed address")).to_have_value(
        re.compile(rf"^{re.escape(live_server)}/staff/calendar/feed/[\w-]{{43}}\.ics$")
    )
    audit.check(page, "calendar feed, the new address shown")
    audit.assert_clean()


@pytest.mark.parametrize("width", [768, 320])
def test_the_week_view_fits_the_screen_without_scrolling_sideways(
    app, live_server, new_context, audit, admin_with_consults, width
):
    _type_id, _host, secret = admin_with_consults
    context = new_context(**{**DESKTOP, "viewport": {"width": width, "height": 900}})
    page = context.new_page()
    sign_in(page, live_server, secret)
    page.goto(f"{live_server}{WEEK}")
    expect(page.get_by_role("heading", level=2, name="Mon 2 Mar 2026")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    expect(page.locator("li.calendar-entry")).to_have_count(4)
    audit.check(page, f"calendar week at {width} px")
    audit.assert_clean()


def test_the_consult_and_calendar_pages_are_valid_html(app, admin_with_consults, sign_in, tmp_path):
    """The Nu HTML checker, as tests/browser/test_html_validity.py runs it, errors shown too."""
    type_id, host, _secret = admin_with_consults
    with app.app_context():
        admin = db.session.scalar(db.select(StaffUser.id).where(StaffUser.role == "admin"))
    client = sign_in(app.test_client(), admin)
    pages = {
        name: html(client.get(path))
        for name, path in [
            ("consult types", "/staff/admin/consult-types"),
            ("consult type form", f"/staff/admin/consult-types/{type_id}"),
            ("hours", f"/staff/admin/staff/{host}/hours"),
            ("feed page", "/staff/account/calendar-feed"),
            ("week", WEEK),
            ("day", "/staff/calendar?day=2026-03-03&staff=all"),
        ]
    }
    token = client.get("/staff/account/hours").get_data(as_text=True)
    token = token.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    wrong = {"csrf_token": token, "day1": "17:00-09:00", "day": "2026-02-30", "kind": "off"}
    pages["hours, error shown"] = html(client.post("/staff/account/hours", data=wrong), 422)
    pages["day change, error shown"] = html(
        client.post("/staff/account/day-changes", data=wrong), 422
    )
    pages["feed, the address shown"] = html(
        client.post("/staff/account/calendar-feed", data={"csrf_token": token})
    )
    (tmp_path / "pages").mkdir()
    found = check(pages, tmp_path / "pages")
    failures = {name: errors for name, errors in found.items() if errors}
    assert not failures, "\n".join(f"{name}: {errors}" for name, errors in failures.items())
