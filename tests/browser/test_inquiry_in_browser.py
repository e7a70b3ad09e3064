"""A patient fills in the inquiry in Chromium: labels and branching. The journeys that prove the
accessibility bars (keyboard, narrow screens, no JavaScript, errors, resume) are in
test_accessibility_journeys.py; the helpers both use are in conftest.py.

Every question is found the way a person (or a screen reader) finds it: by its label, or by the
legend of its group and the label of its choice. If a label were not wired to its input, these
tests could not fill the form in.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    BROWSER_TIME_ZONE,
    CAREGIVER_QUESTIONS,
    choose,
    confirmed,
    fill_about_ms,
    fill_contact,
    fill_health,
    give_consents_and_send,
    labelled,
    on_step,
    review_row,
    save_and_continue,
    stored,
    tick,
)

pytestmark = pytest.mark.browser


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
