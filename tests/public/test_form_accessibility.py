"""The patient form's markup for screen readers and keyboards: the date of birth as day, month
and year boxes, the email-or-phone pair as one question, the order of headings, the notices
that must be announced, and the review page's links and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from intake.extensions import db
from intake.formats import html_datetime, long_date
from intake.inquiries.answers import read_answers
from intake.models import Inquiry
from tests.conftest import CONTACT, HEALTH, STEPS, form_data, hidden_fields, page, send_step

PARTS = ("day", "month", "year")


def reach_health_step(client) -> None:
    for url, answers in STEPS[:2]:
        assert send_step(client, url, answers).status_code == 302


def send_date(client, day: str, month: str, year: str):
    typed = {"date_of_birth-day": day, "date_of_birth-month": month, "date_of_birth-year": year}
    others = {name: value for name, value in HEALTH.items() if name != "date_of_birth"}
    return send_step(client, "/inquiry/health", {**others, **typed})


def boxes(soup) -> dict[str, dict]:
    return {part: soup.find("input", id=f"date_of_birth-{part}") for part in PARTS}


def test_the_date_of_birth_is_three_labelled_number_boxes_in_a_described_group(client):
    reach_health_step(client)
    soup = page(client.get("/inquiry/health"))

    group = soup.find(id="q-date_of_birth").find("fieldset")
    assert group["role"] == "group"
    assert group.find("legend").get_text(strip=True) == "Date of birth of the person with MS"
    hint = soup.find(id="date_of_birth-hint")
    assert hint.get_text(strip=True) == "For example, 27 3 1975"
    assert group["aria-describedby"] == "date_of_birth-hint"
    for part, box in boxes(soup).items():
        assert box["name"] == f"date_of_birth-{part}"
        assert (box["inputmode"], box["autocomplete"]) == ("numeric", f"bday-{part}")
        assert soup.find("label", attrs={"for": box["id"]}).get_text() == part.title()
        assert not box.has_attr("aria-invalid")


def test_a_date_typed_in_three_boxes_is_stored_as_a_date_and_shown_in_words_on_review(app, client):
    reach_health_step(client)
    response = send_date(client, "02", "4", "1980")
    assert response.status_code == 302

    with app.app_context():
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        assert read_answers(inquiry)["date_of_birth"] == "1980-04-02"
    review = page(client.get("/inquiry/consent"))
    rows = {row.dt.get_text(): row.dd.get_text() for row in review.select(".summary-row")}
    assert rows["Date of birth of the person with MS"] == "2 April 1980"


def test_a_month_may_be_typed_as_a_word(app, client):
    reach_health_step(client)
    assert send_date(client, "12", "March", "1984").status_code == 302
    assert send_date(client, "12", "mar", "1984").status_code == 302
    with app.app_context():
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        assert read_answers(inquiry)["date_of_birth"] == "1984-03-12"


@pytest.mark.parametrize(
    ("typed", "message", "wrong"),
    [
        (("", "", ""), "Enter the day, month and year. For example, 27 3 1975.", PARTS),
        (("12", "", "1984"), "The date must include a month.", ("month",)),
        (("", "", "1984"), "The date must include a day and a month.", ("day", "month")),
        (("12", "3", "84"), "The year must have 4 numbers, for example 1975.", ("year",)),
        (("31", "2", "1984"), "The date must be a real date. For example, 27 3 1975.", ("day",)),
        (("12", "13", "1984"), "The date must be a real date.", ("month",)),
        (("1", "1", "2999"), "The date must be today or in the past.", PARTS),
        (("31", "12", "1899"), "The date must be after 1 January 1900.", ("year",)),
    ],
    ids=[
        "empty",
        "no-month",
        "no-day-or-month",
        "short-year",
        "31-february",
        "month-13",
        "future",
        "before-1900",
    ],
)
def test_a_wrong_date_gets_one_message_marks_the_boxes_to_correct_and_keeps_what_was_typed(
    client, typed, message, wrong
):
    reach_health_step(client)
    response = send_date(client, *typed)

    assert response.status_code == 422
    soup = page(response)
    error = soup.find(id="date_of_birth-error")
    assert message in error.get_text()
    hint = soup.find(id="date_of_birth-hint")
    assert hint in error.find_all_previous("p"), "the format hint comes before the error"
    group = soup.find(id="q-date_of_birth").find("fieldset")
    assert group["aria-describedby"] == "date_of_birth-hint date_of_birth-error"
    shown = boxes(soup)
    assert [shown[part]["value"] for part in PARTS] == list(typed)
    assert {part for part in PARTS if shown[part].has_attr("aria-invalid")} == set(wrong)
    [link] = [a for a in soup.select(".error-summary a") if "Date of birth" in a.get_text()]
    assert link["href"] == f"#date_of_birth-{wrong[0]}"


def test_a_stored_date_fills_the_three_boxes_again(client):
    reach_health_step(client)
    send_step(client, "/inquiry/health", {**HEALTH, "date_of_birth": date(1968, 11, 5)})
    shown = boxes(page(client.get("/inquiry/health")))
    assert [shown[part]["value"] for part in PARTS] == ["5", "11", "1968"]


def test_no_email_and_no_phone_is_one_error_on_the_pair_tied_to_both_inputs(client):
    response = send_step(client, "/inquiry", {**CONTACT, "email": "", "phone": ""})

    assert response.status_code == 422
    soup = page(response)
    group = soup.find("fieldset", class_="question-group")
    assert group.find("legend").get_text(strip=True) == "How can we reach the person with MS?"
    error = group.find(class_="error-message")
    assert "Give an email address or a phone number" in error.get_text()
    assert error["id"] in group["aria-describedby"].split()
    for name in ("email", "phone"):
        field = group.find("input", id=name)
        assert field["aria-invalid"] == "true"
        assert error["id"] in field["aria-describedby"].split()
        label = soup.find("label", attrs={"for": name}).get_text()
        assert "optional" not in label, "neither of the pair is optional on its own"
    [link] = soup.select(".error-summary a[href='#email']")
    assert "Email address or phone number" in link.get_text()


def test_the_pair_is_marked_as_a_group_before_any_error(client):
    soup = page(client.get("/inquiry"))
    group = soup.find("fieldset", class_="question-group")
    assert (
        group.find("p", class_="hint").get_text()
        == "Give an email address, a phone number or both."
    )
    assert {field["id"] for field in group.find_all("input")} == {"email", "phone"}
    assert not soup.find("input", id="email").has_attr("aria-invalid")


def test_the_error_summary_heading_comes_after_the_page_heading(client):
    soup = page(send_step(client, "/inquiry", {**CONTACT, "first_name": ""}))
    headings = [tag.name for tag in soup.find("main").find_all(["h1", "h2"])]
    assert headings[:2] == ["h1", "h2"]
    assert soup.find("h2").get_text() == "Please check this answer"


def test_the_bot_check_notice_is_an_alert_that_takes_focus(client):
    shown = client.get("/inquiry")
    data = form_data(hidden_fields(shown), {**CONTACT, "leave_blank": "https://spam.example"})
    notice = page(client.post("/inquiry", data=data)).select_one(".notice")

    assert "press the button again" in notice.get_text()
    assert notice["role"] == "alert"
    assert notice.has_attr("data-focus-on-load") and notice["tabindex"] == "-1"


def test_the_review_page_names_each_step_in_its_change_link(client):
    for url, answers in STEPS[:3]:
        send_step(client, url, answers)
    soup = page(client.get("/inquiry/consent"))

    assert [a.get_text() for a in soup.select("a.change-link")] == [
        "Change your answers about you",
        "Change your answers about your MS",
        "Change your health screening answers",
    ]


def test_the_site_icon_answers_at_its_old_address_and_is_linked_as_svg(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header: a real icon
    assert icon.cache_control.public and icon.cache_control.max_age == 7 * 24 * 3600
    assert icon.headers["X-Content-Type-Options"] == "nosniff"
    icon.close()

    link = page(client.get("/inquiry")).find("link", rel="icon")
    assert link["type"] == "image/svg+xml"
    svg = client.get(link["href"])
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    svg.close()


def test_dates_read_the_same_everywhere_and_machine_times_carry_whole_seconds():
    assert long_date(date(1984, 3, 12)) == long_date("1984-03-12") == "12 March 1984"
    moment = datetime(2026, 12, 6, 3, 4, 5, 123456, tzinfo=UTC)
    assert html_datetime(moment) == "2026-12-06T03:04:05+00:00"
