"""The accessibility bars A2–A6 of QUALITY.md, each as its own journey in Chromium.

A1 (axe-core) lives in test_accessibility.py. Here a patient uses the keyboard alone (A2), a
narrow or zoomed screen (A3), a browser without JavaScript (A4), the error summary (A5), and
takes a long break or moves to another device (A6). Questions are found by their labels, with
the helpers in conftest.py that test_inquiry_in_browser.py uses too.
"""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous.timed import TimestampSigner
from playwright.sync_api import Page, expect

from intake.extensions import db
from intake.models import Lead
from tests.browser.conftest import (
    CAREGIVER_QUESTIONS,
    DESKTOP,
    PHONE,
    Keyboard,
    choose,
    confirmed,
    fill_about_ms,
    fill_contact,
    fill_date,
    fill_health,
    give_consents_and_send,
    labelled,
    on_step,
    review_row,
    save_and_continue,
    send_step_one_nearly_empty,
    stored,
)

pytestmark = pytest.mark.browser

CONTACT_COLUMNS = (
    "filled_by",
    "first_name",
    "last_name",
    "email",
    "phone",
    "preferred_contact_method",
    "preferred_contact_time",
    "country",
    "region",
    "postal_code",
)
TYPED_CONTACT = {  # fill_contact's answers, and A2's, as the lead stores them
    "filled_by": "self",
    "first_name": "Ada",
    "last_name": "Byron",
    "email": "ada.byron@example.org",
    "phone": "+12025550143",
    "preferred_contact_method": "email",
    "preferred_contact_time": "morning",
    "country": "US",
    "region": "Virginia",
    "postal_code": "22201",
}


def contact_columns(app) -> dict:
    """The step-1 answers as the one lead holds them."""
    with app.app_context():
        lead = db.session.scalars(db.select(Lead)).one()
        return {column: getattr(lead, column) for column in CONTACT_COLUMNS}


# --- A2: the keyboard alone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "fault"),
    [
        ("input:focus { outline: none; }", "no focus indicator"),
        (
            "input { outline: 2px solid #555; } input:focus { outline: 2px solid #555; }",
            "the focus indicator stays on blur",
        ),
    ],
    ids=["no ring", "a ring that never changes"],
)
def test_a2_the_focus_check_fails_where_focus_cannot_be_seen(page, style, fault):
    """The check itself: no ring at all, or a ring that is there focused or not, both fail."""
    page.set_content(
        '<main><input id="one" aria-label="One"><input id="two" aria-label="Two"></main>'
    )
    page.add_style_tag(content=style)
    keys = Keyboard(page)
    with pytest.raises(AssertionError, match=fault):
        keys.press("Tab")
        keys.press("Tab")


def test_a2_the_whole_inquiry_can_be_completed_with_the_keyboard_alone(
    app, live_server, desktop_page, script_errors
):
    """No click and no fill(): keys only, and every focus stop shows where focus is."""
    page, keys = desktop_page, Keyboard(desktop_page)
    page.goto(f"{live_server}/inquiry")
    on_step(page, 1, "About you")

    ring = keys.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")  # the skip link moves focus to the main content
    assert page.evaluate("document.activeElement.id") == "main", ring

    ring = keys.tab_to("filled_by")  # nothing focusable before the first question
    assert ring["id"] == "filled_by-0"
    page.keyboard.press("Space")
    keys.press("ArrowDown")  # arrows move between choices, and choose
    expect(page.locator("#filled_by-1")).to_be_checked()
    expect(labelled(page, "Your first name")).to_be_visible()
    keys.press("ArrowUp")
    expect(page.locator("#filled_by-0")).to_be_checked()
    for question in CAREGIVER_QUESTIONS:
        expect(labelled(page, question)).to_be_hidden()

    keys.type_into("first_name", "Adda")
    keys.type_into("last_name", "Byron")
    keys.tab_to("first_name", key="Shift+Tab", most=1)  # back, to correct a typo
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type("a")
    expect(labelled(page, "First name of the person with MS")).to_have_value("Ada")
    keys.tab_to("last_name", most=1)
    keys.type_into("email", "ada.byron@example.org")
    keys.type_into("phone", "(202) 555-0143")
    keys.choose("preferred_contact_method", 0)  # Email
    keys.choose("preferred_contact_time", 0)  # Morning
    keys.pick("country", "United States")
    expect(labelled(page, "Country")).to_have_value("US")
    keys.type_into("region", "Virginia")
    keys.type_into("postal_code", "22201")
    keys.choose("heard_about", 1)  # An article on our website
    keys.send("Save and continue")

    on_step(page, 2, "About your MS")
    keys.tab_to("diagnosed", most=4)  # past the skip link, the language switch, the back link
    page.keyboard.press("Space")  # Yes
    keys.choose("ms_type", 0)  # Relapsing-remitting
    keys.type_into("diagnosis_year", "2015")
    keys.choose("mobility", 1)  # a cane or stick
    keys.choose("edss_known", 0)  # Yes: the EDSS question appears
    keys.pick("edss", "4.5")
    expect(page.get_by_label("What was your most recent EDSS score?")).to_have_value("4.5")
    keys.choose("on_dmt", 0)  # Yes: "Which one?" appears
    keys.type_into("dmt_name", "Ocrevus")
    keys.choose("relapse_12m", 1)  # No
    keys.tick("symptoms-0")  # Tiredness
    keys.tab_to("symptoms-2", most=2)
    page.keyboard.press("Space")  # Eyesight
    keys.tab_to("prior_stem_cell", most=8)  # past the other seven symptoms, each a tab stop
    keys.press("ArrowDown")  # No
    expect(page.locator("#prior_stem_cell-1")).to_be_checked()
    keys.send("Save and continue")

    on_step(page, 3, "Health screening")
    keys.type_into("date_of_birth-day", "2")
    keys.type_into("date_of_birth-month", "4")
    keys.type_into("date_of_birth-year", "1980")
    for group in ("cancer_5y", "pregnancy", "active_infection", "blood_thinners", "organ_disease"):
        keys.choose(group, 1)  # No
    keys.choose("able_to_travel", 0)  # Yes
    keys.send("Save and continue")

    on_step(page, 4, "Check and send")
    expect(review_row(page, "First name of the person with MS")).to_have_text("Ada")
    keys.tick("privacy_notice", most=8)  # past the switch, back link, 3 "Change" links, notice
    keys.tick("consent_email")
    keys.tick("not_medical_advice", most=4)  # past the phone, text and follow-up consents
    keys.send("Send my inquiry")

    confirmed(page)
    [lead], [inquiry] = stored(app)
    assert (lead["incomplete"], inquiry["status"]) == (False, "complete")
    assert contact_columns(app) == TYPED_CONTACT
    answers = inquiry["answers"]
    assert (answers["ms_type"], answers["mobility"], answers["edss"], answers["dmt_name"]) == (
        "RRMS",
        "cane",
        "4.5",
        "Ocrevus",
    )
    assert answers["symptoms"] == ["fatigue", "vision"]
    assert (answers["date_of_birth"], answers["able_to_travel"]) == ("1980-04-02", "yes")
    print(f"\nA2: {keys.stops} keyboard focus stops, each with a visible focus indicator")
    assert script_errors == []


# --- A3: a narrow screen and 200 % zoom ------------------------------------------------------

TARGET = 44  # CSS px, QUALITY.md A3 (WCAG 2.5.5's size, stricter than 2.5.8's 24)

# Every visible interactive target in the main content, with the box a tap lands in: for a
# radio button or checkbox that is the control and its label together (a tap on the label
# chooses it). Links in running text would be exempt (WCAG 2.5.8's inline exception), but the
# form has none: each link stands on its own, so each is measured.
LAYOUT = """() => {
  const root = document.documentElement;
  const box = el => el.getBoundingClientRect();
  const targets = document.querySelectorAll(
    'main a[href], main button, main input:not([type=hidden]), main select, main textarea');
  const small = [];
  let measured = 0;
  for (const el of targets) {
    if (!el.checkVisibility()) continue;
    let {left, top, right, bottom} = box(el);
    if (el.type === 'radio' || el.type === 'checkbox') {
      for (const label of el.labels) {
        const r = box(label);
        left = Math.min(left, r.left); top = Math.min(top, r.top);
        right = Math.max(right, r.right); bottom = Math.max(bottom, r.bottom);
      }
    }
    measured += 1;
    const width = right - left, height = bottom - top;
    if (width < TARGET || height < TARGET) {
      small.push(`${el.tagName.toLowerCase()}#${el.id || ''} "${(el.innerText || el.value ||
        '').trim().slice(0, 40)}" ${width.toFixed(1)}×${height.toFixed(1)}`);
    }
  }
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, measured, small,
          innerWidth: window.innerWidth};
}""".replace("TARGET", str(TARGET))

NARROW = {**PHONE, "viewport": {"width": 320, "height": 640}}
# Chromium at 200 % zoom in a 1280×800 window lays the page out 640×400 CSS px wide, with two
# device pixels to each CSS pixel. Playwright cannot press Ctrl+Plus on the browser's own zoom,
# so the same layout is made directly: a 640×400 viewport at device scale factor 2, a desktop
# (no touch, no mobile viewport rules), so the media queries and sizes match the zoomed window.
ZOOMED = {
    "viewport": {"width": 640, "height": 400},
    "device_scale_factor": 2,
    "is_mobile": False,
    "has_touch": False,
}


class Layout:
    """Checks each page state it is shown, and reports them all at the end."""

    def __init__(self, page: Page, name: str, width: int) -> None:
        self.page, self.name, self.width = page, name, width
        self.failures: list[str] = []
        self.checked: list[str] = []

    def check(self, state: str, *, has_targets: bool = True) -> None:
        self.page.wait_for_load_state()  # the stylesheet too, not only the heading
        found = self.page.evaluate(LAYOUT)
        self.checked.append(f"{state} ({found['measured']} targets)")
        assert (found["measured"] > 0) is has_targets, (state, found)
        if found["innerWidth"] != self.width:  # a phone widens its viewport to fit a wide page
            self.failures.append(f"{self.name}, {state}: laid out {found['innerWidth']} px wide")
        if found["scrollWidth"] > found["clientWidth"]:
            self.failures.append(
                f"{self.name}, {state}: scrolls sideways, "
                f"{found['scrollWidth']} > {found['clientWidth']} px"
            )
        for target in found["small"]:
            self.failures.append(f"{self.name}, {state}: target smaller than 44×44: {target}")

    def assert_fine(self) -> None:
        print(f"\nA3 {self.name}: checked {'; '.join(self.checked)}")
        assert not self.failures, "\n".join(self.failures)


def walk_every_state(page: Page, live_server: str, layout: Layout) -> None:
    """Each step empty, with its errors, answered; and the confirmation."""
    page.goto(f"{live_server}/inquiry")
    on_step(page, 1, "About you")
    layout.check("step 1, empty")
    send_step_one_nearly_empty(page, live_server)
    expect(page.get_by_role("alert")).to_be_visible()
    layout.check("step 1, errors shown")
    page.goto(f"{live_server}/inquiry")
    fill_contact(page, for_someone_else=True)
    layout.check("step 1, answered for someone else")
    save_and_continue(page)

    for number, title, answer in (
        (2, "About your MS", fill_about_ms),
        (3, "Health screening", fill_health),
    ):
        on_step(page, number, title)
        layout.check(f"step {number}, empty")
        save_and_continue(page)
        expect(page.get_by_role("alert")).to_be_visible()
        layout.check(f"step {number}, errors shown")
        answer(page)
        layout.check(f"step {number}, answered")
        save_and_continue(page)

    on_step(page, 4, "Check and send")
    layout.check("step 4 (review and consents)")
    page.get_by_role("button", name="Send my inquiry").click()
    expect(page.get_by_role("alert")).to_be_visible()
    layout.check("step 4, errors shown")
    give_consents_and_send(page)
    confirmed(page)
    layout.check("confirmation", has_targets=False)  # it has no links or buttons


def test_a3_the_layout_check_finds_sideways_scrolling_and_small_targets(new_context):
    """The check itself, on a page made to fail it at 320 px."""
    page = new_context(**NARROW).new_page()
    page.set_content(
        '<meta name="viewport" content="width=device-width"><main>'
        '<p class="wide">A line that will not wrap</p><button id="tiny">Go</button>'
        '<input type="radio" id="pick"><label for="pick">Pick</label></main>'
    )
    page.add_style_tag(content=".wide { width: 400px } #tiny { width: 30px; height: 30px }")
    layout = Layout(page, "self-test", 320)
    layout.check("faulty page")
    with pytest.raises(AssertionError) as failed:
        layout.assert_fine()
    message = str(failed.value)
    assert "self-test, faulty page: scrolls sideways, 4" in message
    assert "target smaller than 44×44: button#tiny" in message
    assert "target smaller than 44×44: input#pick" in message
    assert "self-test, faulty page: laid out 4" in message  # the phone zoomed out to fit it


@pytest.mark.parametrize("size", ["320 px wide", "200 % zoom"])
def test_a3_every_state_fits_a_narrow_or_zoomed_screen_with_large_targets(
    live_server, new_context, size
):
    """Both widths of WCAG 1.4.10 (reflow at 320 CSS px) and 1.4.4 (200 % zoom). The zoom is
    made as the layout it produces, 640×400 CSS px at two device pixels each (see ZOOMED):
    Playwright has no browser-zoom control, and CSS ``zoom`` on the page would be a different
    thing from what the patient's browser does."""
    options = NARROW if size == "320 px wide" else ZOOMED
    page = new_context(**options).new_page()
    layout = Layout(page, size, options["viewport"]["width"])
    walk_every_state(page, live_server, layout)
    layout.assert_fine()


# --- A4: JavaScript turned off -------------------------------------------------------------


def test_a4_without_javascript_the_whole_inquiry_is_sent_keeping_only_answers_that_apply(
    app, live_server, page_without_js
):
    page = page_without_js
    page.goto(f"{live_server}/inquiry")
    on_step(page, 1, "About you")
    for question in CAREGIVER_QUESTIONS:
        expect(labelled(page, question)).to_be_visible()
    expect(page.locator("#q-caregiver_first_name .condition-note")).to_have_text(
        "Only if you answered “I am filling it in for someone with MS (for example as a family "
        "member or carer)” to “Who is filling in this form?”."
    )
    conditional = page.locator("[data-enable-when]")
    expect(conditional).to_have_count(5)
    expect(page.locator("[data-enable-when] .condition-note:visible")).to_have_count(5)
    # The patient fills only what applies: the carer's questions stay empty, and are not needed.
    fill_contact(page)
    save_and_continue(page)

    on_step(page, 2, "About your MS")
    expect(page.locator(".question:visible")).to_have_count(page.locator(".question").count())
    expect(page.locator("#q-edss .condition-note")).to_have_text(
        "Only if you answered “Yes” to “Do you know your most recent EDSS score?”."
    )
    fill_about_ms(page)
    # Then changes their mind about two answers, leaving what they typed below them.
    choose(page, "Do you know your most recent EDSS score?", "No, or not sure")
    choose(page, "Are you taking a disease-modifying therapy (DMT) for MS?", "No")
    expect(page.get_by_label("What was your most recent EDSS score?")).to_have_value("4.5")
    expect(labelled(page, "Which one?")).to_have_value("Ocrevus")
    save_and_continue(page)

    on_step(page, 3, "Health screening")
    fill_health(page)
    save_and_continue(page)

    on_step(page, 4, "Check and send")
    expect(review_row(page, "Do you know your most recent EDSS score?")).to_have_text(
        "No, or not sure"
    )
    expect(review_row(page, "What was your most recent EDSS score?")).to_have_count(0)
    expect(review_row(page, "Which one?")).to_have_count(0)
    give_consents_and_send(page)

    confirmed(page)
    [lead], [inquiry] = stored(app)
    assert lead["incomplete"] is False
    assert lead["caregiver_first_name"] is None
    # No script, no browser zone: it comes from the US phone number instead.
    assert lead["time_zone_source"] == "phone"
    answers = inquiry["answers"]
    assert answers["edss_known"] == "no" and answers["on_dmt"] == "no"
    assert "edss" not in answers
    assert "dmt_name" not in answers
    assert answers["symptoms"] == ["fatigue", "vision"]


# --- A5: errors ---------------------------------------------------------------------------

FIRST_ERRORS = {  # field id -> the message the patient reads, for step 1 sent nearly empty
    "filled_by-0": "Choose one of the answers.",
    "first_name": "Please answer this question.",
    "email": "Give an email address or a phone number, so we can reply.",
    "preferred_contact_method-0": "Choose one of the answers.",
    "country": "Choose one of the answers.",
}

INVALID_FIELDS = """() => Array.from(document.querySelectorAll('[aria-invalid="true"]')).map(el => {
  // Radios share the description of their group, as screen readers announce it there.
  const holder = el.hasAttribute('aria-describedby') ? el : el.closest('fieldset');
  const ids = ((holder && holder.getAttribute('aria-describedby')) || '').split(/\\s+/);
  const described = ids.filter(Boolean).map(id => document.getElementById(id))
    .map(found => found ? found.textContent.replace(/\\s+/g, ' ').trim() : '<missing>');
  return {id: el.id, name: el.name, described: described.join(' | ')};
})"""


def test_a5_errors_are_summarised_at_the_top_linked_and_tied_to_each_field(
    app, live_server, page, script_errors
):
    send_step_one_nearly_empty(page, live_server)

    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("Please check these answers")
    expect(summary).to_be_focused()  # inquiry.js moves focus there, so it is read out first
    expect(page).to_have_title(re.compile(r"^Error: About you"))
    box, heading = summary.bounding_box(), page.get_by_role("heading", level=1).bounding_box()
    # Under the page's heading (its <h2> after the <h1>), still above every question.
    assert box is not None and heading is not None and heading["y"] < box["y"]
    links = summary.get_by_role("link")
    expect(links).to_have_count(len(FIRST_ERRORS))

    for index, (field_id, message) in enumerate(FIRST_ERRORS.items()):
        expect(links.nth(index)).to_contain_text(message)
        links.nth(index).click()
        expect(page.locator(f"#{field_id}")).to_be_focused()
        assert page.evaluate("document.activeElement.id") == field_id

    invalid = page.evaluate(INVALID_FIELDS)
    assert {field["id"] for field in invalid} == {
        "filled_by-0",
        "filled_by-1",
        "first_name",
        "email",
        "phone",  # the pair "an email address or a phone number" has one error, tied to both
        "preferred_contact_method-0",
        "preferred_contact_method-1",
        "preferred_contact_method-2",
        "country",
    }
    messages = {field_id.removesuffix("-0"): text for field_id, text in FIRST_ERRORS.items()}
    messages["phone"] = messages["email"]
    for field in invalid:
        assert f"Error: {messages[field['name']]}" in field["described"], field
    # What was typed in valid fields is still there.
    expect(labelled(page, "Last name of the person with MS")).to_have_value("Byron")
    expect(labelled(page, "State, province or region")).to_have_value("Virginia")
    expect(
        page.get_by_role("group", name="When is the best time to reach you?").get_by_role(
            "radio", name="Morning"
        )
    ).to_be_checked()
    assert stored(app) == ([], [])
    assert script_errors == []


def test_a5_following_an_error_link_shows_the_question_and_its_error(live_server, page):
    send_step_one_nearly_empty(page, live_server)
    links = page.get_by_role("alert").get_by_role("link")
    expect(links).to_have_count(len(FIRST_ERRORS))

    for index, field_id in enumerate(FIRST_ERRORS):
        links.nth(index).click()
        expect(page.locator(f"#{field_id}")).to_be_focused()
        block = "group-email" if field_id == "email" else field_id.removesuffix("-0")
        question = page.locator(f"#q-{block}")
        expect(question.locator("legend, label.label").first).to_be_in_viewport()
        expect(question.locator(".error-message")).to_be_in_viewport()


def test_a5_a_consent_left_unticked_is_marked_linked_and_described_like_any_answer(
    live_server, page
):
    """The last step's checkboxes are a different kind of field from step 1's: the same
    summary, link, aria-invalid and description apply to them."""
    page.goto(f"{live_server}/inquiry")
    for fill_step in (fill_contact, fill_about_ms, fill_health):
        fill_step(page)
        save_and_continue(page)
    on_step(page, 4, "Check and send")
    page.get_by_role("button", name="Send my inquiry").click()
    expect(page).to_have_title(re.compile(r"^Error: Check and send"))
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    links = summary.get_by_role("link")
    expect(links).not_to_have_count(0)
    targets = {}
    for link in links.all():
        field_id = (link.get_attribute("href") or "").removeprefix("#")
        link.click()
        expect(page.locator(f"#{field_id}")).to_be_focused()
        targets[field_id] = link.inner_text().split(" – ")[-1]
    assert {"privacy_notice", "not_medical_advice"} <= set(targets)
    invalid = {field["id"]: field["described"] for field in page.evaluate(INVALID_FIELDS)}
    assert set(invalid) == set(targets)
    for field_id, message in targets.items():
        assert f"Error: {message}" in invalid[field_id], (field_id, invalid[field_id])


# --- A6: no time limit loses answers; a resume link works on another device ------------------

A_DAY_AND_MORE = 25 * 3600  # past the CSRF token's hour and WCAG 2.2.6's 20 hours
STILL_HERE = "Everything you typed is still here."


@pytest.fixture
def server_clock(monkeypatch):
    """Moves the server's clock for everything that expires: each signed token (the CSRF token,
    the session cookie, the draft reference in the form) is made and read by itsdangerous's
    TimestampSigner. The live server runs in this process, so it sees the change; the pages
    have no timers of their own, so the browser's clock is left alone."""
    real_time, offset = time.time, {"seconds": 0}
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda self: int(real_time()) + offset["seconds"]
    )

    def advance(seconds: int) -> None:
        offset["seconds"] += seconds

    return advance


def test_a6_a_day_long_pause_and_a_lost_session_lose_no_answers(
    app, live_server, context, page, server_clock, script_errors
):
    """The patient fills a step, stops for a day (the page's CSRF token expires), comes back
    and presses the button: the page asks them to press it once more, with every answer still
    filled in, and then saves. The same when the session cookie is gone as well."""
    page.goto(f"{live_server}/inquiry")
    fill_contact(page)
    server_clock(A_DAY_AND_MORE)
    save_and_continue(page)
    expect(page.get_by_role("alert")).to_contain_text(STILL_HERE)
    expect(page.get_by_role("alert")).to_be_focused()  # read out first, like an error summary
    on_step_again(page, 1, "About you")
    expect(labelled(page, "First name of the person with MS")).to_have_value("Ada")
    expect(labelled(page, "ZIP or postal code")).to_have_value("22201")
    expect(labelled(page, "Country")).to_have_value("US")
    expect(page.get_by_role("radio", name="An article on our website")).to_be_checked()
    assert stored(app) == ([], [])
    save_and_continue(page)

    on_step(page, 2, "About your MS")
    fill_about_ms(page)
    context.clear_cookies()  # the session is gone too (closed browser, cleared cookies)
    server_clock(A_DAY_AND_MORE)
    save_and_continue(page)
    expect(page.get_by_role("alert")).to_contain_text(STILL_HERE)
    expect(page.get_by_role("alert")).to_be_focused()  # read out first, like an error summary
    on_step_again(page, 2, "About your MS")
    expect(page.get_by_label("What was your most recent EDSS score?")).to_have_value("4.5")
    expect(labelled(page, "Which one?")).to_have_value("Ocrevus")
    expect(page.get_by_role("checkbox", name="Eyesight")).to_be_checked()
    save_and_continue(page)

    on_step(page, 3, "Health screening")
    fill_health(page)
    save_and_continue(page)
    on_step(page, 4, "Check and send")
    give_consents_and_send(page)
    confirmed(page)
    [lead], [inquiry] = stored(app)
    assert (lead["incomplete"], inquiry["status"]) == (False, "complete")
    assert contact_columns(app) == TYPED_CONTACT
    assert inquiry["answers"]["edss"] == "4.5" and inquiry["answers"]["dmt_name"] == "Ocrevus"
    assert script_errors == []


def on_step_again(page: Page, number: int, title: str) -> None:
    """The same step, sent back to be pressed again (not an error: no "Error:" title)."""
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page).to_have_title(re.compile(rf"^{re.escape(title)} \(step {number} of 4\)"))
    expect(page.locator(".error-summary")).to_have_count(0)


EVERY_ANSWER = {  # the review on the last step, as fill_contact, fill_about_ms and fill_health
    "Who is filling in this form?": "I have MS and I am filling it in for myself",
    "First name of the person with MS": "Ada",
    "Last name of the person with MS": "Byron",
    "Email address of the person with MS": "ada.byron@example.org",
    "Phone number of the person with MS": "+12025550143",
    "How would you like us to contact you?": "Email",
    "When is the best time to reach you?": "Morning",
    "Country": "United States",
    "State, province or region": "Virginia",
    "ZIP or postal code": "22201",
    "How did you hear about us?": "An article on our website",
    "Has a neurologist diagnosed multiple sclerosis?": "Yes",
    "Which type of MS?": "Relapsing-remitting (RRMS)",
    "In what year was it diagnosed?": "2015",
    "Which best describes how you get around today?": "I use a cane or stick",
    "Do you know your most recent EDSS score?": "Yes",
    "What was your most recent EDSS score?": "4.5",
    "Are you taking a disease-modifying therapy (DMT) for MS?": "Yes",
    "Which one?": "Ocrevus",
    "Have you had a relapse in the last 12 months?": "No",
    "What are your main symptoms today?": "Tiredness (fatigue), Eyesight",
    "Have you had stem cell therapy before?": "No",
    "Date of birth of the person with MS": "2 April 1980",
    "Have you had cancer, or treatment for cancer, in the last 5 years?": "No",
    "Are you pregnant, breastfeeding, or planning a pregnancy in the next year?": "No",
    "Do you have hepatitis B or C, HIV, or tuberculosis?": "No",
    "Do you take blood thinners, or have a bleeding disorder?": "No",
    "Do you have another serious heart, kidney or liver condition?": "No",
    "Would you be able to travel to the clinic for treatment, with a companion if needed?": "Yes",
}


def review_rows(page: Page) -> dict[str, str]:
    return {
        row.locator("dt").inner_text(): row.locator("dd").inner_text()
        for row in page.locator(".summary-row").all()
    }


def test_a6_a_resume_link_from_a_phone_restores_every_answer_on_a_desktop(
    app, live_server, page, new_context
):
    page.goto(f"{live_server}/inquiry")
    fill_contact(page)
    save_and_continue(page)
    on_step(page, 2, "About your MS")
    fill_about_ms(page)
    save_and_continue(page)
    on_step(page, 3, "Health screening")
    fill_date(page, "Date of birth of the person with MS", "2", "4", "1980")
    choose(page, "Have you had cancer, or treatment for cancer, in the last 5 years?", "No")
    page.get_by_role("button", name="Save and finish later").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your answers are saved")
    link = page.locator(".resume-link a")  # shown to the patient, to copy or bookmark
    expect(link).to_have_text(re.compile(rf"^{re.escape(live_server)}/inquiry/resume/\S+$"))

    desktop = new_context(**DESKTOP).new_page()  # another device: no cookies shared
    desktop.goto(link.get_attribute("href") or "")
    device = "[innerWidth, navigator.maxTouchPoints > 0, devicePixelRatio]"
    assert (page.evaluate(device), desktop.evaluate(device)) == ([390, True, 2], [1280, False, 1])
    on_step(desktop, 3, "Health screening")
    expect(
        desktop.get_by_role("group", name="Date of birth of the person with MS").get_by_label(
            "Year"
        )
    ).to_have_value("1980")
    expect(
        desktop.get_by_role("group", name=re.compile("^Have you had cancer")).get_by_role(
            "radio", name="No", exact=True
        )
    ).to_be_checked()
    fill_health(desktop, date_of_birth=False)
    save_and_continue(desktop)
    on_step(desktop, 4, "Check and send")
    assert review_rows(desktop) == EVERY_ANSWER  # the phone's, and the desktop's step 3
    give_consents_and_send(desktop)
    confirmed(desktop)

    [lead], [inquiry] = stored(app)
    assert lead["incomplete"] is False and inquiry["status"] == "complete"
    assert contact_columns(app) == TYPED_CONTACT
    answers = inquiry["answers"]
    assert (answers["ms_type"], answers["edss"], answers["dmt_name"]) == ("RRMS", "4.5", "Ocrevus")
    assert answers["symptoms"] == ["fatigue", "vision"]
    assert (answers["date_of_birth"], answers["able_to_travel"]) == ("1980-04-02", "yes")
