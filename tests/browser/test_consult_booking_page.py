"""The patient's booking page in Chromium: booking from the link and then moving it at 320 px
wide with the keyboard alone (Tab, Space and Enter; every stop with a visible focus indicator,
nothing wider than the screen, every target 44 px), and axe on every state in English and
Spanish."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Keyboard
from tests.browser.test_accessibility_journeys import NARROW, Layout
from tests.public.consult_support import (
    at,
    book_directly,
    consults,
    make_world,
    other_lead,
    set_clock,
)

pytestmark = pytest.mark.browser

FIRST, SECOND, THIRD = at("2026-03-04 14:00"), at("2026-03-04 14:30"), at("2026-03-04 15:00")


def tab_to_text(page: Page, keys: Keyboard, text: str, most: int = 8) -> None:
    """Tab until the focused link or button reads ``text``."""
    for _ in range(most):
        keys.press("Tab")
        if " ".join(page.evaluate("document.activeElement.textContent").split()) == text:
            return
    raise AssertionError(f"{text!r} not reached with {most} × Tab")


def choose_first_time_and_book(page: Page, keys: Keyboard) -> None:
    """Tab into the times (focus lands on the first), Space chooses it, Enter on the button."""
    ring = keys.tab_to("slot", most=6)
    assert ring["id"] == "slot-0", ring
    page.keyboard.press("Space")
    expect(page.locator("#slot-0")).to_be_checked()
    keys.send("Book this time")


def test_a_patient_books_then_moves_with_the_keyboard_alone_at_320_px(
    app, live_server, new_context, monkeypatch
):
    set_clock(monkeypatch)
    world = make_world(app)
    page = new_context(**NARROW).new_page()
    keys, layout = Keyboard(page), Layout(page, "booking", 320)

    page.goto(f"{live_server}{world.url}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time for your consult")
    layout.check("choose")
    choose_first_time_and_book(page, keys)

    expect(page.get_by_role("heading", level=1)).to_have_text("You are booked")
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"You are booked for Wednesday 4 March 2026 at 3:00\sPM\.")
    )
    layout.check("booked")
    assert consults(app, world.lead_id) == [("booked", FIRST)]

    tab_to_text(page, keys, "Choose another time")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose another time")
    layout.check("choose another")
    choose_first_time_and_book(page, keys)  # the booked time is not offered: the next one is

    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"You are booked for Wednesday 4 March 2026 at 3:30\sPM\.")
    )
    assert consults(app, world.lead_id) == [("booked", SECOND)]
    layout.assert_fine()
    assert keys.stops > 4


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_state_of_the_booking_page_has_no_axe_violations(
    app, live_server, page, audit, monkeypatch, language
):
    set_clock(monkeypatch)
    world = make_world(app, language=language)
    url = f"{live_server}{world.url}"
    book = page.locator("form button[type=submit]")

    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", language)
    audit.check(page, f"{language}: choose a time")

    book_directly(app, world, FIRST, lead_id=other_lead(app))
    page.locator("#slot-0").check()
    book.click()
    expect(page.locator("#slot-error")).to_be_visible()
    audit.check(page, f"{language}: clash, with the next free times")

    page.locator("#next-0").check()
    book.click()
    expect(page.get_by_role("status")).to_be_visible()
    audit.check(page, f"{language}: booked")
    assert consults(app, world.lead_id) == [("booked", SECOND)]

    page.goto(f"{url}/cancel")
    audit.check(page, f"{language}: confirm cancelling")
    book.click()
    expect(page.get_by_role("status")).to_be_visible()
    audit.check(page, f"{language}: cancelled")
    assert consults(app, world.lead_id) == [("cancelled", SECOND)]

    page.goto(url)
    page.locator("#slot-1").check()  # 16:00 in Madrid (slot-0 is now SECOND, free again)
    book.click()
    expect(page.get_by_role("status")).to_be_visible()
    assert consults(app, world.lead_id) == [("cancelled", SECOND), ("booked", THIRD)]
    set_clock(monkeypatch, THIRD - timedelta(hours=11))  # the cut-off is 12 hours before
    page.goto(url)
    expect(page.locator(".consult-actions")).to_have_count(0)
    audit.check(page, f"{language}: past the cut-off")

    page.goto(f"{live_server}/consult/not-a-token")
    audit.check(page, f"{language}: a link that does not work")
    audit.assert_clean()
