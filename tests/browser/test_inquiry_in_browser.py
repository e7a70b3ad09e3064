"""A patient fills in the inquiry in Chromium: labels, branching, errors, resume, keyboard.

Every question is found the way a person (or a screen reader) finds it: by its label, or by the
legend of its group and the label of its choice. If a label were not wired to its input, these
tests could not fill the form in.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from intake.extensions import db
from intake.models import Inquiry, Lead
from intake.services.answers import read_answers
from tests.browser.conftest import BROWSER_TIME_ZONE, DESKTOP

pytestmark = pytest.mark.browser

CONFIRMATION = "Thank you, your inquiry has been sent"
CAREGIVER_QUESTIONS = ("Your first name", "Your last name", "How are you related to them?",
                       "Your email address", "Your phone number")


# --- How a person answers ------------------------------------------------------------------


def labelled(scope, question: str):
    """The field whose label is this question, marked "(optional)" or not."""
    return scope.get_by_label(re.compile("^" + re.escape(question) + r"( \(optional\))?$"))

def choose(page: Page, question: str, answer: str) -> None:
    """Pick a radio button by its group's legend and its own label."""
    group = page.get_by_role("group", name=question)
    group.get_by_role("radio", name=answer, exact=True).check()


def tick(page: Page, label: str) -> None:
    page.get_by_role("checkbox", name=label).check()


def fill(page: Page, label: str, value: str) -> None:
    labelled(page, label).fill(value)


def on_step(page: Page, number: int, title: str) -> None:
    """The patient is on this step, and the page says so in words."""
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("#progress")).to_have_text(f"Step {number} of 4")
    expect(page).to_have_title(re.compile(rf"^{re.escape(title)} \(step {number} of 4\)"))
    assert_never_says_eligible(page)


def assert_never_says_eligible(page: Page) -> None:
    assert "eligible" not in page.locator("body").inner_text().lower()


def save_and_continue(page: Page) -> None:
    page.get_by_role("button", name="Save and continue").click()


def fill_contact(page: Page, *, for_someone_else: bool = False) -> None:
    if for_someone_else:
        choose(page, "Who is filling in this form?", "I am filling it in for someone with MS "
               "(for example as a family member or carer)")
        fill(page, "Your first name", "Augusta")
        fill(page, "Your last name", "King")
        fill(page, "How are you related to them?", "Daughter")
    else:
        choose(page, "Who is filling in this form?",
               "I have MS and I am filling it in for myself")
    fill(page, "First name of the person with MS", "Ada")
    fill(page, "Last name of the person with MS", "Byron")
    fill(page, "Email address of the person with MS", "Ada.Byron@Example.org")
    fill(page, "Phone number of the person with MS", "(202) 555-0143")
    choose(page, "How would you like us to contact you?", "Email")
    choose(page, "When is the best time to reach you?", "Morning")
    labelled(page, "Country").select_option(label="United States")
    fill(page, "State, province or region", "Virginia")
    fill(page, "ZIP or postal code", "22201")
    choose(page, "How did you hear about us?", "An article on our website")


def fill_about_ms(page: Page) -> None:
    choose(page, "Has a neurologist diagnosed multiple sclerosis?", "Yes")
    choose(page, "Which type of MS?", "Relapsing-remitting (RRMS)")
    fill(page, "In what year was it diagnosed?", "2015")
    choose(page, "Which best describes how you get around today?", "I use a cane or stick")
    choose(page, "Do you know your most recent EDSS score?", "Yes")
    page.get_by_label("What was your most recent EDSS score?").select_option("4.5")
    choose(page, "Are you taking a disease-modifying therapy (DMT) for MS?", "Yes")
    fill(page, "Which one?", "Ocrevus")
    choose(page, "Have you had a relapse in the last 12 months?", "No")
    tick(page, "Tiredness (fatigue)")
    tick(page, "Eyesight")
    choose(page, "Have you had stem cell therapy before?", "No")


def fill_health(page: Page, *, date_of_birth: bool = True) -> None:
    if date_of_birth:
        fill(page, "Date of birth of the person with MS", "1980-04-02")
    choose(page, "Have you had cancer, or treatment for cancer, in the last 5 years?", "No")
    choose(page, "Are you pregnant, breastfeeding, or planning a pregnancy in the next year?",
           "No")
    choose(page, "Do you have hepatitis B or C, HIV, or tuberculosis?", "No")
    choose(page, "Do you take blood thinners, or have a bleeding disorder?", "No")
    choose(page, "Do you have another serious heart, kidney or liver condition?", "No")
    choose(page, "Would you be able to travel to the clinic for treatment, with a companion if "
           "needed?", "Yes")


def give_consents_and_send(page: Page) -> None:
    page.get_by_role("checkbox", name="I have read the privacy notice").check()
    page.get_by_role("checkbox", name="You may contact me by email.").check()
    page.get_by_role("checkbox", name="I understand that this form and any reply are not "
                     "medical advice").check()
    page.get_by_role("button", name="Send my inquiry").click()


def review_row(page: Page, question: str):
    """The answer shown beside a question in the review on the last step."""
    return page.locator(".summary-row").filter(
        has=page.locator("dt").get_by_text(question, exact=True)
    ).locator("dd")


def confirmed(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(CONFIRMATION)
    expect(page).to_have_title(re.compile(rf"^{CONFIRMATION}"))
    assert_never_says_eligible(page)


# --- What was stored -----------------------------------------------------------------------

def stored(app) -> tuple[list[dict], list[dict]]:
    """Every lead (a few columns) and every inquiry with its opened answers."""
    with app.app_context():
        leads = [
            {"incomplete": lead.incomplete, "time_zone": lead.time_zone,
             "time_zone_source": lead.time_zone_source, "email": lead.email,
             "first_name": lead.first_name, "filled_by": lead.filled_by,
             "caregiver_first_name": lead.caregiver_first_name,
             "caregiver_relationship": lead.caregiver_relationship}
            for lead in db.session.scalars(db.select(Lead).order_by(Lead.id))
        ]
        inquiries = [
            {"status": inquiry.status, "answers": read_answers(inquiry)}
            for inquiry in db.session.scalars(db.select(Inquiry).order_by(Inquiry.id))
        ]
    return leads, inquiries



# --- The tests -----------------------------------------------------------------------------

def test_a_patient_completes_the_inquiry_on_a_phone(app, live_server, page, script_errors):
    assert page.viewport_size == {"width": 390, "height": 844}
    page.goto(live_server)

    on_step(page, 1, "About you")
    fill_contact(page)
    save_and_continue(page)

    on_step(page, 2, "About your MS")
    fill_about_ms(page)
    save_and_continue(page)

    on_step(page, 3, "Health screening")
    fill_health(page)
    save_and_continue(page)

    on_step(page, 4, "Check and send")
    expect(review_row(page, "First name of the person with MS")).to_have_text("Ada")
    expect(review_row(page, "Email address of the person with MS")).to_have_text(
        "ada.byron@example.org")
    expect(review_row(page, "Country")).to_have_text("United States")
    expect(review_row(page, "Which type of MS?")).to_have_text("Relapsing-remitting (RRMS)")
    expect(review_row(page, "What was your most recent EDSS score?")).to_have_text("4.5")
    expect(review_row(page, "Which one?")).to_have_text("Ocrevus")
    expect(review_row(page, "What are your main symptoms today?")).to_have_text(
        "Tiredness (fatigue), Eyesight")
    expect(review_row(page, "Date of birth of the person with MS")).to_have_text("1980-04-02")
    expect(review_row(page, "Your first name")).to_have_count(0)  # not asked of this patient
    give_consents_and_send(page)

    confirmed(page)
    expect(page.get_by_text("We will contact you by email, in the morning")).to_be_visible()
    [lead], [inquiry] = stored(app)
    assert lead["incomplete"] is False
    assert inquiry["status"] == "complete"
    # Only inquiry.js can have filled in the browser's zone; the phone number says New York.
    assert (lead["time_zone_source"], lead["time_zone"]) == ("browser", BROWSER_TIME_ZONE)
    assert inquiry["answers"]["edss"] == "4.5"
    assert script_errors == []


def test_follow_up_questions_appear_only_when_they_apply(app, live_server, page, script_errors):
    page.goto(f"{live_server}/inquiry")
    on_step(page, 1, "About you")
    for question in CAREGIVER_QUESTIONS:
        expect(labelled(page, question)).to_be_hidden()

    choose(page, "Who is filling in this form?", "I am filling it in for someone with MS "
           "(for example as a family member or carer)")
    for question in CAREGIVER_QUESTIONS:
        expect(labelled(page, question)).to_be_visible()
    # With JavaScript the "Only if you answered …" notes are not needed, so they are hidden.
    expect(page.locator(".condition-note").first).to_be_hidden()

    choose(page, "Who is filling in this form?", "I have MS and I am filling it in for myself")
    expect(labelled(page, "Your first name")).to_be_hidden()

    fill_contact(page, for_someone_else=True)
    save_and_continue(page)

    on_step(page, 2, "About your MS")
    edss = page.get_by_label("What was your most recent EDSS score?")
    dmt = labelled(page, "Which one?")
    expect(edss).to_be_hidden()
    expect(dmt).to_be_hidden()
    choose(page, "Do you know your most recent EDSS score?", "No, or not sure")
    expect(edss).to_be_hidden()
    choose(page, "Do you know your most recent EDSS score?", "Yes")
    expect(edss).to_be_visible()
    choose(page, "Are you taking a disease-modifying therapy (DMT) for MS?", "Yes")
    expect(dmt).to_be_visible()
    other = page.get_by_label("Tell us about your other symptoms")
    expect(other).to_be_hidden()
    tick(page, "Something else")
    expect(other).to_be_visible()

    [lead], _ = stored(app)
    assert (lead["filled_by"], lead["caregiver_first_name"], lead["caregiver_relationship"]) == (
        "someone_else", "Augusta", "Daughter")
    assert script_errors == []


def test_without_javascript_every_question_shows_and_only_answers_that_apply_are_kept(
    app, live_server, page_without_js
):
    page = page_without_js
    page.goto(f"{live_server}/inquiry")
    on_step(page, 1, "About you")
    for question in CAREGIVER_QUESTIONS:
        expect(labelled(page, question)).to_be_visible()
    expect(page.locator("#q-caregiver_first_name .condition-note")).to_have_text(
        "Only if you answered “I am filling it in for someone with MS (for example as a family "
        "member or carer)” to “Who is filling in this form?”.")
    conditional = page.locator("[data-enable-when]")
    expect(conditional).to_have_count(5)
    expect(page.locator("[data-enable-when] .condition-note:visible")).to_have_count(5)
    # The patient fills only what applies: the carer's questions stay empty, and are not needed.
    fill_contact(page)
    save_and_continue(page)

    on_step(page, 2, "About your MS")
    expect(page.locator(".question:visible")).to_have_count(page.locator(".question").count())
    expect(page.locator("#q-edss .condition-note")).to_have_text(
        "Only if you answered “Yes” to “Do you know your most recent EDSS score?”.")
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
        "No, or not sure")
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


def send_step_one_nearly_empty(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/inquiry")
    fill(page, "Last name of the person with MS", "Byron")
    fill(page, "State, province or region", "Virginia")
    choose(page, "When is the best time to reach you?", "Morning")
    save_and_continue(page)


def test_errors_are_summarised_linked_and_tied_to_each_field(app, live_server, page,
                                                             script_errors):
    send_step_one_nearly_empty(page, live_server)

    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("Please check these answers")
    expect(summary).to_be_focused()  # inquiry.js moves focus there, so it is read out first
    expect(page).to_have_title(re.compile(r"^Error: About you"))
    box, heading = summary.bounding_box(), page.get_by_role("heading", level=1).bounding_box()
    assert box is not None and heading is not None and box["y"] < heading["y"]
    links = summary.get_by_role("link")
    expect(links).to_have_count(len(FIRST_ERRORS))

    for index, (field_id, message) in enumerate(FIRST_ERRORS.items()):
        expect(links.nth(index)).to_contain_text(message)
        links.nth(index).click()
        expect(page.locator(f"#{field_id}")).to_be_focused()
        assert page.evaluate("document.activeElement.id") == field_id

    invalid = page.evaluate(INVALID_FIELDS)
    assert {field["id"] for field in invalid} == {
        "filled_by-0", "filled_by-1", "first_name", "email", "preferred_contact_method-0",
        "preferred_contact_method-1", "preferred_contact_method-2", "country"}
    messages = {field_id.removesuffix("-0"): text for field_id, text in FIRST_ERRORS.items()}
    for field in invalid:
        assert f"Error: {messages[field['name']]}" in field["described"], field
    # What was typed in valid fields is still there.
    expect(labelled(page, "Last name of the person with MS")).to_have_value("Byron")
    expect(labelled(page, "State, province or region")).to_have_value("Virginia")
    expect(page.get_by_role("group", name="When is the best time to reach you?")
           .get_by_role("radio", name="Morning")).to_be_checked()
    assert stored(app) == ([], [])
    assert script_errors == []


def test_following_an_error_link_shows_the_question_and_its_error(live_server, page):
    send_step_one_nearly_empty(page, live_server)
    links = page.get_by_role("alert").get_by_role("link")
    expect(links).to_have_count(len(FIRST_ERRORS))

    for index, field_id in enumerate(FIRST_ERRORS):
        links.nth(index).click()
        expect(page.locator(f"#{field_id}")).to_be_focused()
        question = page.locator(f"#q-{field_id.removesuffix('-0')}")
        expect(question.locator("legend, label.label").first).to_be_in_viewport()
        expect(question.locator(".error-message")).to_be_in_viewport()


def start_on_a_phone_and_save_at_step_three(page: Page, live_server: str) -> str:
    """Steps 1 and 2, then part of step 3 and "Save and finish later"; returns the link."""
    page.goto(f"{live_server}/inquiry")
    fill_contact(page)
    save_and_continue(page)
    on_step(page, 2, "About your MS")
    fill_about_ms(page)
    save_and_continue(page)
    on_step(page, 3, "Health screening")
    fill(page, "Date of birth of the person with MS", "1980-04-02")
    page.get_by_role("button", name="Save and finish later").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your answers are saved")
    link = page.locator(".resume-link a")
    expect(link).to_have_text(re.compile(rf"^{re.escape(live_server)}/inquiry/resume/\S+$"))
    return link.get_attribute("href") or ""


def test_an_inquiry_saved_on_one_device_is_finished_on_another(
    app, live_server, page, new_context
):
    link = start_on_a_phone_and_save_at_step_three(page, live_server)

    other_device = new_context().new_page()  # no cookies shared with the first one
    other_device.goto(link)
    on_step(other_device, 3, "Health screening")
    expect(other_device.get_by_label("Date of birth of the person with MS")).to_have_value(
        "1980-04-02")
    fill_health(other_device, date_of_birth=False)
    save_and_continue(other_device)
    on_step(other_device, 4, "Check and send")
    # The answers given on the first device are here.
    expect(review_row(other_device, "What was your most recent EDSS score?")).to_have_text("4.5")
    expect(review_row(other_device, "Which one?")).to_have_text("Ocrevus")
    give_consents_and_send(other_device)
    confirmed(other_device)

    [lead], [inquiry] = stored(app)
    assert lead["incomplete"] is False and inquiry["status"] == "complete"
    answers = inquiry["answers"]
    assert (answers["ms_type"], answers["edss"], answers["dmt_name"]) == ("RRMS", "4.5", "Ocrevus")
    assert answers["symptoms"] == ["fatigue", "vision"]
    assert (answers["date_of_birth"], answers["able_to_travel"]) == ("1980-04-02", "yes")


FOCUS_RING = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none';
  return {id: el.id, tag: el.tagName, visible: outline || shadow,
          outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
          shadow: style.boxShadow};
}"""


def assert_focus_is_visible(page: Page) -> None:
    ring = page.evaluate(FOCUS_RING)
    assert ring["visible"], ring


def test_the_first_questions_can_be_answered_with_the_keyboard_alone(
    live_server, desktop_page, script_errors
):
    page = desktop_page
    assert page.viewport_size == DESKTOP["viewport"]
    page.goto(f"{live_server}/inquiry")
    on_step(page, 1, "About you")
    keyboard = page.keyboard

    keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_is_visible(page)

    keyboard.press("Tab")  # nothing focusable between the skip link and the first question
    myself = page.get_by_role("radio", name="I have MS and I am filling it in for myself")
    someone_else = page.get_by_role("radio", name="I am filling it in for someone with MS",
                                    exact=False)
    expect(myself).to_be_focused()
    expect(myself).not_to_be_checked()
    assert_focus_is_visible(page)
    keyboard.press("Space")
    expect(myself).to_be_checked()

    keyboard.press("ArrowDown")  # arrows move between choices, and choose
    expect(someone_else).to_be_focused()
    expect(someone_else).to_be_checked()
    expect(labelled(page, "Your first name")).to_be_visible()
    keyboard.press("ArrowUp")
    expect(myself).to_be_checked()
    expect(labelled(page, "Your first name")).to_be_hidden()

    keyboard.press("Tab")
    first_name = labelled(page, "First name of the person with MS")
    expect(first_name).to_be_focused()
    assert_focus_is_visible(page)
    keyboard.type("Ada")
    expect(first_name).to_have_value("Ada")

    keyboard.press("Tab")
    expect(labelled(page, "Last name of the person with MS")).to_be_focused()
    assert_focus_is_visible(page)
    assert script_errors == []
