"""The staff sign-in error as a screen reader meets it (issue 10, item 8): the page's title says
"Error: " first and focus is on the error summary when the page loads, with JavaScript on or
off, as on the public form."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def refused_sign_in(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/staff/login")
    expect(page).to_have_title("Sign in – Staff – The clinic")
    page.get_by_label("Email address").fill("admin@clinic.example")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Continue").click()


@pytest.fixture
def admin(make_staff):
    return make_staff("admin", email="admin@clinic.example")


@pytest.mark.parametrize("browser_page", ["page", "page_without_js"])
def test_a_refused_sign_in_puts_error_in_the_title_and_focus_on_the_message(
    request, live_server, admin, browser_page
):
    page = request.getfixturevalue(browser_page)

    refused_sign_in(page, live_server)

    expect(page).to_have_title("Error: Sign in – Staff – The clinic")
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("not recognised")


def test_an_empty_sign_in_names_each_field_in_the_focused_summary(live_server, page):
    page.goto(f"{live_server}/staff/login")
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_title("Error: Sign in – Staff – The clinic")
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(2)
