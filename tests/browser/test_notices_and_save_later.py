"""In Chromium: the privacy notice opened from the consent step and back with every answer kept
(with JavaScript off too), a footer link from a step with typing not yet sent, and the copy
button of "Save and finish later" (there with script, absent without, the link always shown)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    fill,
    fill_about_ms,
    fill_contact,
    fill_health,
    on_step,
    save_and_continue,
)

pytestmark = pytest.mark.browser
PRIVACY_BOX = "I have read the privacy notice"
EMAIL_BOX = "You may contact me by email."
ADVICE_BOX = "I understand that this form and any reply are not medical advice"


def to_consent_step(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/inquiry")
    fill_contact(page)
    save_and_continue(page)
    fill_about_ms(page)
    save_and_continue(page)
    fill_health(page)
    save_and_continue(page)
    on_step(page, 4, "Check and send")


@pytest.mark.parametrize("script", ["on", "off"])
def test_the_privacy_notice_opens_from_the_consent_step_and_back_keeps_every_tick(
    app, live_server, page, page_without_js, script
):
    browser = page if script == "on" else page_without_js
    to_consent_step(browser, live_server)
    browser.get_by_role("checkbox", name=EMAIL_BOX).check()
    browser.get_by_role("checkbox", name=ADVICE_BOX).check()  # ticked, never sent

    browser.get_by_role("button", name="Read the privacy notice").click()
    expect(browser.get_by_role("heading", level=1)).to_have_text("Privacy notice")
    expect(browser.get_by_role("heading", name="Who we are")).to_be_visible()
    expect(browser.get_by_role("status")).to_contain_text("Your answers are kept")
    browser.get_by_role("button", name="Back to your answers").first.click()

    on_step(browser, 4, "Check and send")
    expect(browser.get_by_role("checkbox", name=EMAIL_BOX)).to_be_checked()
    expect(browser.get_by_role("checkbox", name=ADVICE_BOX)).to_be_checked()
    expect(browser.get_by_role("checkbox", name=PRIVACY_BOX)).not_to_be_checked()
    browser.get_by_role("checkbox", name=PRIVACY_BOX).check()
    browser.get_by_role("button", name="Send my inquiry").click()
    expect(browser.get_by_role("heading", level=1)).to_have_text(
        "Thank you, your inquiry has been sent"
    )


def test_the_terms_in_a_steps_footer_keep_what_was_typed_but_not_sent(
    app, live_server, page_without_js
):
    page = page_without_js
    page.goto(f"{live_server}/inquiry")
    fill_contact(page)  # typed, never sent: no lead exists yet

    page.locator("footer").get_by_role("button", name="Terms of use").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Terms of use")
    page.get_by_role("button", name="Back to your answers").first.click()

    on_step(page, 1, "About you")
    expect(page.get_by_label("First name of the person with MS")).to_have_value("Ada")
    expect(page.get_by_label("ZIP or postal code (optional)")).to_have_value("22201")
    expect(page.get_by_role("radio", name="Email", exact=True)).to_be_checked()


def save_for_later(page: Page, live_server: str) -> str:
    page.goto(f"{live_server}/inquiry")
    fill_contact(page)
    save_and_continue(page)
    fill(page, "In what year was it diagnosed?", "2015")
    page.get_by_role("button", name="Save and finish later").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your answers are saved")
    expect(page.get_by_role("status").first).to_contain_text("We are emailing you a link")
    return page.locator("#resume-link a").inner_text()


def test_the_copy_button_copies_the_link_where_script_runs(app, live_server, new_context):
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    link = save_for_later(page, live_server)

    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#copy-status")).to_have_text(
        "Link copied. You can paste it into a note or a message to yourself."
    )
    assert page.evaluate("navigator.clipboard.readText()") == link


def test_without_script_the_link_is_shown_and_no_dead_copy_button(
    app, live_server, page_without_js
):
    link = save_for_later(page_without_js, live_server)

    assert "/inquiry/resume/" in link
    expect(page_without_js.get_by_role("button", name="Copy link")).to_be_hidden()
