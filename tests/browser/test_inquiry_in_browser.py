"""A patient fills in the inquiry in Chromium: labels and branching. The journeys that prove the
accessibility bars (keyboard, narrow screens, no JavaScript, errors, resume) are in
test_accessibility_journeys.py, and share the helpers here.

Every question is found the way a person (or a screen reader) finds it: by its label, or by the
legend of its group and the label of its choice. If a label were not wired to its input, these
tests could not fill the form in.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from intake.extensions import db
from intake.inquiries.answers import read_answers
from intake.models import Inquiry, Lead
from tests.browser.conftest import BROWSER_TIME_ZONE

pytestmark = pytest.mark.browser

CONFIRMATION = "Thank you, your inquiry has been sent"
CAREGIVER_QUESTIONS = (
    "Your first name",
    "Your last name",
    "How are you related to them?",
    "Your email address",
    "Your phone number",
)


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
        choose(
            page,
            "Who is filling in this form?",
            "I am filling it in for someone with MS (for example as a family member or carer)",
        )
        fill(page, "Your first name", "Augusta")
        fill(page, "Your last name", "King")
        fill(page, "How are you related to them?", "Daughter")
    else:
        choose(page, "Who is filling in this form?", "I have MS and I am filling it in for myself")
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


def fill_date(page: Page, question: str, day: str, month: str, year: str) -> None:
    """A date's three boxes, found by the group's name and each box's label."""
    group = page.get_by_role("group", name=question)
    for label, value in (("Day", day), ("Month", month), ("Year", year)):
        group.get_by_label(label, exact=True).fill(value)


def fill_health(page: Page, *, date_of_birth: bool = True) -> None:
    if date_of_birth:
        fill_date(page, "Date of birth of the person with MS", "2", "4", "1980")
    choose(page, "Have you had cancer, or treatment for cancer, in the last 5 years?", "No")
    choose(page, "Are you pregnant, breastfeeding, or planning a pregnancy in the next year?", "No")
    choose(page, "Do you have hepatitis B or C, HIV, or tuberculosis?", "No")
    choose(page, "Do you take blood thinners, or have a bleeding disorder?", "No")
    choose(page, "Do you have another serious heart, kidney or liver condition?", "No")
    choose(
        page,
        "Would you be able to travel to the clinic for treatment, with a companion if needed?",
        "Yes",
    )


def give_consents_and_send(page: Page) -> None:
    page.get_by_role("checkbox", name="I have read the privacy notice").check()
    page.get_by_role("checkbox", name="You may contact me by email.").check()
    page.get_by_role(
        "checkbox", name="I understand that this form and any reply are not medical advice"
    ).check()
    page.get_by_role("button", name="Send my inquiry").click()


def review_row(page: Page, question: str):
    """The answer shown beside a question in the review on the last step."""
    return (
        page.locator(".summary-row")
        .filter(has=page.locator("dt").get_by_text(question, exact=True))
        .locator("dd")
    )


def confirmed(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(CONFIRMATION)
    expect(page).to_have_title(re.compile(rf"^{CONFIRMATION}"))
    assert_never_says_eligible(page)


# --- What was stored -----------------------------------------------------------------------


def stored(app) -> tuple[list[dict], list[dict]]:
    """Every lead (a few columns) and every inquiry with its opened answers."""
    with app.app_context():
        leads = [
            {
                "incomplete": lead.incomplete,
                "time_zone": lead.time_zone,
                "time_zone_source": lead.time_zone_source,
                "email": lead.email,
                "first_name": lead.first_name,
                "filled_by": lead.filled_by,
                "caregiver_first_name": lead.caregiver_first_name,
                "caregiver_relationship": lead.caregiver_relationship,
            }
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
        "ada.byron@example.org"
    )
    expect(review_row(page, "Country")).to_have_text("United States")
    expect(review_row(page, "Which type of MS?")).to_have_text("Relapsing-remitting (RRMS)")
    expect(review_row(page, "What was your most recent EDSS score?")).to_have_text("4.5")
    expect(review_row(page, "Which one?")).to_have_text("Ocrevus")
    expect(review_row(page, "What are your main symptoms today?")).to_have_text(
        "Tiredness (fatigue), Eyesight"
    )
    expect(review_row(page, "Date of birth of the person with MS")).to_have_text("2 April 1980")
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

    choose(
        page,
        "Who is filling in this form?",
        "I am filling it in for someone with MS (for example as a family member or carer)",
    )
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
        "someone_else",
        "Augusta",
        "Daughter",
    )
    assert script_errors == []


def send_step_one_nearly_empty(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/inquiry")
    fill(page, "Last name of the person with MS", "Byron")
    fill(page, "State, province or region", "Virginia")
    choose(page, "When is the best time to reach you?", "Morning")
    save_and_continue(page)
