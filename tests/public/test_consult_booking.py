"""The patient's booking page: book in one step, see the booking, move or cancel it until the
cut-off, a clash answered with the next free times, and a calm page for a link that no longer
works; in the patient's language and time zone (daylight saving included)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup

from intake.consults.slots import Slot
from intake.extensions import db
from intake.models import ConsultType, Lead, LeadEvent
from intake.public import consult_views
from tests.conftest import hidden_fields, page, text_of
from tests.factories import ADDRESS, NOW
from tests.public.consult_support import (
    at,
    book_directly,
    booking_pages,
    consults,
    make_world,
    other_lead,
    set_clock,
)
from tests.staff.conftest import QueryCounter

FIRST = at("2026-03-04 14:00")  # Wednesday 09:00 in New York (EST), 15:00 in Madrid
SECOND = at("2026-03-04 14:30")
AFTER_DST = at("2026-03-09 13:00")  # Monday 09:00 in New York (EDT), 14:00 in Madrid


@pytest.fixture
def world(app, monkeypatch):
    set_clock(monkeypatch)
    return make_world(app)


def choose(client, url: str, value: str, **extra):
    """Open the page, then send its form with this time chosen, as a person would."""
    shown = client.get(url)
    data = {**hidden_fields(shown), "slot": value, **extra}
    return client.post(url.split("?")[0], data=data)


def page_of(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def words(element) -> str:
    """An element's words as read (CLDR puts a narrow no-break space before "PM")."""
    return " ".join(element.get_text(" ", strip=True).split())


def value(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def events(app, lead_id: int) -> list[tuple[str, dict]]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
        )
        return [(row.kind, row.data) for row in rows if row.kind.startswith("consult")]


def test_the_page_lists_free_times_by_day_in_the_patients_zone_and_says_which_zone(client, world):
    response = client.get(world.url)
    assert response.status_code == 200
    soup = page(response)
    assert soup.h1.get_text(strip=True) == "Choose a time for your consult"
    assert "All times are in your time zone: Central European Time (Madrid)." in text_of(response)
    legends = [legend.get_text(strip=True) for legend in soup.select("fieldset legend")]
    assert legends[:2] == ["Wednesday 4 March 2026", "Thursday 5 March 2026"]
    assert len(legends) == 7  # a week of days with times; the rest behind "Later times"
    first = soup.select("fieldset")[0]
    times = [words(label) for label in first.select("label")]
    assert times == ["3:00 PM", "3:30 PM", "4:00 PM", "4:30 PM"]  # 09:00-11:00 in New York
    assert [b.get_text(strip=True) for b in soup.select("form button")] == ["Book this time"]
    assert soup.select_one("input[name=slot]")["value"] == value(FIRST)


def test_a_patient_books_in_one_step_and_the_confirmation_says_so(app, client, world):
    response = choose(client, world.url, value(FIRST))

    assert response.status_code == 303
    assert response.headers["Location"] == f"{world.url}?lang=en&done=booked"
    assert consults(app, world.lead_id) == [("booked", FIRST)]
    with app.app_context():
        assert db.session.get(Lead, world.lead_id).status == "consult_scheduled"
    assert [(kind, data["by"]) for kind, data in events(app, world.lead_id)] == [
        ("consult_scheduled", "patient")
    ]
    shown = client.get(response.headers["Location"])
    words = text_of(shown)
    assert "You are booked for Wednesday 4 March 2026 at 3:00 PM." in words
    assert "We have sent you an email with a calendar invitation." in words
    assert "30 minutes" in words and "A video call" in words


def test_a_booked_patient_moves_to_another_time_in_one_step(app, client, world):
    choose(client, world.url, value(FIRST))
    shown = text_of(client.get(world.url))
    assert "Choose another time" in shown and "Cancel this consult" in shown
    offered = page(client.get(f"{world.url}?change=1")).select("input[name=slot]")
    assert offered[0]["value"] == value(SECOND)  # the booked time itself is not offered

    response = choose(client, f"{world.url}?change=1", value(AFTER_DST))

    assert response.status_code == 303
    assert response.headers["Location"].endswith("done=moved")
    assert consults(app, world.lead_id) == [("booked", AFTER_DST)]
    assert [kind for kind, _data in events(app, world.lead_id)] == [
        "consult_scheduled",
        "consult_moved",
    ]
    words = text_of(client.get(response.headers["Location"]))
    assert "You are booked for Monday 9 March 2026 at 2:00 PM." in words


def test_cancelling_asks_first_then_cancels_and_confirms(app, client, world):
    choose(client, world.url, value(FIRST))
    asked = client.get(f"{world.url}/cancel")
    assert asked.status_code == 200
    assert page(asked).h1.get_text(strip=True) == "Cancel your consult?"
    assert consults(app, world.lead_id) == [("booked", FIRST)]  # asking changed nothing

    response = client.post(f"{world.url}/cancel", data=hidden_fields(asked))

    assert response.status_code == 303
    assert response.headers["Location"].endswith("done=cancelled")
    assert consults(app, world.lead_id) == [("cancelled", FIRST)]
    assert events(app, world.lead_id)[-1][0] == "consult_cancelled"
    done = client.get(response.headers["Location"])
    assert page(done).h1.get_text(strip=True) == "Your consult is cancelled"
    assert "Choose a new time" in text_of(done)


def test_past_the_cut_off_the_page_says_to_reply_or_call_and_changes_are_refused(
    app, client, world, monkeypatch
):
    choose(client, world.url, value(FIRST))
    form = hidden_fields(client.get(f"{world.url}/cancel"))
    set_clock(monkeypatch, FIRST - timedelta(hours=11))  # the cut-off is 12 hours before

    shown = client.get(world.url)
    words = text_of(shown)
    assert "it can no longer be changed here" in words
    assert "please reply to our email or call us" in words
    assert "Choose another time" not in words and "Cancel this consult" not in words
    assert "Choose another time" not in text_of(client.get(f"{world.url}?change=1"))
    moved = client.post(world.url, data={**form, "slot": value(AFTER_DST)})
    cancelled = client.post(f"{world.url}/cancel", data=form)

    assert (moved.status_code, cancelled.status_code) == (409, 409)
    assert consults(app, world.lead_id) == [("booked", FIRST)]


def test_a_time_taken_meanwhile_is_answered_with_the_next_free_times(app, client, world):
    shown = client.get(world.url)
    book_directly(app, world, FIRST, lead_id=other_lead(app))

    response = client.post(world.url, data={**hidden_fields(shown), "slot": value(FIRST)})

    assert response.status_code == 409
    soup = page(response)
    assert "That time is not free any more" in soup.select_one("#slot-error").get_text()
    nexts = [words(label) for label in soup.select("label[for^=next-]")]
    assert nexts[:2] == [
        "Wednesday 4 March 2026 at 3:30 PM",
        "Wednesday 4 March 2026 at 4:00 PM",
    ]
    assert consults(app, world.lead_id) == []
    assert (
        client.post(world.url, data={**hidden_fields(shown), "slot": value(SECOND)}).status_code
        == 303
    )


def make_world_lead(app) -> int:
    from tests.factories import make_lead

    lead = make_lead(email="someone.else@example.org", status="contacted")
    db.session.commit()
    return lead.id


@pytest.mark.parametrize("sent", ["", "garbage", "2026-13-45T99:99Z", "0001-01-01T00:00+0100"])
def test_a_missing_or_foreign_choice_is_refused_next_to_the_times_and_the_page_is_kept(
    app, client, world, sent
):
    later = f"{world.url}?from=2026-03-10"
    response = choose(client, later, sent, **{"from": "2026-03-10"})

    assert response.status_code == 422
    soup = page(response)
    assert (
        soup.select_one("#slot-error").get_text(" ", strip=True) == "Error: Please choose a time."
    )
    assert soup.select("fieldset legend")[0].get_text(strip=True) == "Tuesday 10 March 2026"
    assert consults(app, world.lead_id) == []


def test_a_time_written_in_another_offset_is_read_as_the_instant_it_names(app, client, world):
    """ "15:00+01:00" is 14:00 UTC: the instant is booked, never 15:00 UTC."""
    response = choose(client, world.url, "2026-03-04T15:00+0100")
    assert response.status_code == 303
    assert consults(app, world.lead_id) == [("booked", FIRST)]


def test_later_and_earlier_times_page_through_the_days_by_date_alone(client, world):
    first = page(client.get(world.url))
    later = first.find("a", string="Later times")["href"]
    assert later == f"{world.url}?lang=en&from=2026-03-13"

    second = page(client.get(later))
    assert second.select("fieldset legend")[0].get_text(strip=True) == "Friday 13 March 2026"
    assert second.find("a", string="Earlier times")["href"] == f"{world.url}?lang=en"

    third = page(client.get(second.find("a", string="Later times")["href"]))
    legends = [legend.get_text(strip=True) for legend in third.select("fieldset legend")]
    # The horizon is 28 days from NOW: the last weekdays with times before 31 March.
    assert legends[0] == "Tuesday 24 March 2026" and legends[-1] == "Tuesday 31 March 2026"
    assert third.find("a", string="Later times") is None
    assert third.find("a", string="Earlier times")["href"] == f"{world.url}?lang=en&from=2026-03-13"


@pytest.mark.parametrize("case", ["forged", "expired", "closed", "do_not_contact", "erased",
                                  "inactive type"])  # fmt: skip
def test_a_link_that_cannot_book_gets_a_calm_page_saying_what_to_do(
    app, client, world, monkeypatch, case
):
    url = world.url
    with app.app_context():
        lead = db.session.get(Lead, world.lead_id)
        if case == "forged":
            url = world.url[:-3] + "abc"
        elif case == "expired":
            set_clock(monkeypatch, NOW + timedelta(days=15))
        elif case == "closed":
            lead.status = "not_interested"
        elif case == "do_not_contact":
            lead.status = "do_not_contact"
        elif case == "erased":
            lead.erased_at = NOW
        else:
            db.session.get(ConsultType, world.type_id).active = False
        db.session.commit()

    for response in (client.get(url), client.post(url, data={"slot": value(FIRST)})):
        assert response.status_code == 410
        assert page(response).h1.get_text(strip=True) == "This booking link does not work"
        assert "reply to our email or call us" in text_of(response)
    assert consults(app, world.lead_id) == []


def test_no_free_times_at_all_says_to_reply_or_call(app, client, monkeypatch):
    set_clock(monkeypatch)
    world = make_world(app, hours=("09:00", "09:10"))  # too short for a 30-minute consult
    response = client.get(world.url)
    assert response.status_code == 200
    assert page(response).h1.get_text(strip=True) == "No free times right now"
    assert "reply to our email or call us" in text_of(response)


def test_the_page_speaks_the_leads_language_unless_the_link_says_another(app, monkeypatch):
    set_clock(monkeypatch)
    world = make_world(app, language="es")
    client = app.test_client()

    spanish = client.get(world.url)
    soup = page(spanish)
    assert soup.html["lang"] == "es"
    assert soup.h1.get_text(strip=True) == "Elija una hora para su consulta"
    assert "hora de Europa central (Madrid)" in text_of(spanish)
    assert soup.select("fieldset legend")[0].get_text(strip=True) == "miércoles, 4 de marzo de 2026"
    assert soup.select("fieldset label")[0].get_text(strip=True) == "15:00"
    assert page(client.get(f"{world.url}?lang=en")).html["lang"] == "en"
    redirect = client.get(f"/es/consult/{world.token}")
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == f"{world.url}?lang=es"

    booked = choose(client, f"{world.url}?lang=es", value(FIRST))
    assert booked.headers["Location"] == f"{world.url}?lang=es&done=booked"
    words = text_of(client.get(booked.headers["Location"]))
    assert "Tiene una consulta el miércoles, 4 de marzo de 2026 a las 15:00." in words


def test_the_week_of_the_daylight_saving_change_shows_each_time_where_the_patient_lives(
    client, world
):
    soup = page(client.get(world.url))
    days = {
        fieldset.legend.get_text(strip=True): [words(label) for label in fieldset.select("label")]
        for fieldset in soup.select("fieldset")
    }
    # New York moved its clocks on Sunday 8 March; Madrid not yet: 09:00 there is 14:00 here.
    assert days["Friday 6 March 2026"][0] == "3:00 PM"
    assert days["Monday 9 March 2026"][0] == "2:00 PM"
    assert soup.select_one("label[for=slot-0] time")["datetime"] == "2026-03-04T14:00:00+00:00"


def test_a_form_without_its_csrf_token_books_nothing_and_keeps_the_choice(app, client, world):
    client.get(world.url)
    response = client.post(world.url, data={"slot": value(SECOND)})
    assert response.status_code == 422
    assert "This page was open for a while" in text_of(response)
    assert page(response).select_one(f"input[value='{value(SECOND)}']").has_attr("checked")
    assert consults(app, world.lead_id) == []


def test_the_booking_page_costs_a_fixed_number_of_queries(app, client, world):
    client.get(world.url)  # the session's language is settled
    with QueryCounter(app) as choosing:
        assert client.get(world.url).status_code == 200
    choose(client, world.url, value(FIRST))
    with QueryCounter(app) as booked:
        assert client.get(world.url).status_code == 200
    # The lead, the consult type, the booked consult; then the hosts, their hours, their day
    # changes, their bookings and their time zones (only while choosing).
    assert (choosing.count, booked.count) == (8, 3)


def test_a_clash_the_booking_itself_finds_is_answered_with_the_next_free_times(
    app, client, world, monkeypatch
):
    """The time was free when the view looked, and taken by the time the service locked it."""
    shown = client.get(world.url)
    book_directly(app, world, FIRST, lead_id=other_lead(app))
    real, looks = consult_views.free_times, []

    def stale_first(booking, *, now):
        looks.append(now)
        slots = real(booking, now=now)
        return [Slot(FIRST, SECOND, world.host_id), *slots] if len(looks) == 1 else slots

    monkeypatch.setattr(consult_views, "free_times", stale_first)
    response = client.post(world.url, data={**hidden_fields(shown), "slot": value(FIRST)})

    assert response.status_code == 409
    soup = page(response)
    assert "Someone has just booked that time" in words(soup.select_one("#slot-error"))
    assert words(soup.select_one("label[for=next-0]")) == "Wednesday 4 March 2026 at 3:30 PM"
    assert consults(app, world.lead_id) == []


def test_booking_posts_are_rate_limited_like_the_inquiry(app_factory, monkeypatch):
    set_clock(monkeypatch)
    app = app_factory(
        INTAKE_INQUIRY_RATE_LIMIT="2 per minute",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    )
    world = make_world(app)
    client = app.test_client()
    for _ in range(2):
        assert client.post(world.url, data={"slot": "garbage"}).status_code == 422
    assert client.post(world.url, data={"slot": "garbage"}).status_code == 429
    assert client.post(f"{world.url}/cancel", data={}).status_code == 429


def test_every_state_the_html_check_is_shown_is_the_state_it_is_named_for(app):
    pages = booking_pages(app, "en")
    headings = {
        name: " ".join(page_of(html).h1.get_text(" ").split()) for name, html in pages.items()
    }
    assert headings == {
        "booking: choose": "Choose a time for your consult",
        "booking: refused choice": "Choose a time for your consult",
        "booking: clash": "Choose a time for your consult",
        "booking: booked": "You are booked",
        "booking: choose another": "Choose another time",
        "booking: later times": "Choose another time",
        "booking: confirm cancel": "Cancel your consult?",
        "booking: cancelled": "Your consult is cancelled",
        "booking: invalid link": "This booking link does not work",
        "booking: past the cut-off": "Your consult",
        "booking: no free times": "No free times right now",
    }
    assert "That time is not free any more" in pages["booking: clash"]
    assert "it can no longer be changed here" in pages["booking: past the cut-off"]


def test_booking_moving_and_cancelling_log_ids_and_never_the_patient(app, client, world, caplog):
    caplog.set_level(logging.DEBUG)
    choose(client, world.url, value(FIRST))
    choose(client, f"{world.url}?change=1", value(SECOND))
    client.post(f"{world.url}/cancel", data=hidden_fields(client.get(f"{world.url}/cancel")))

    assert consults(app, world.lead_id) == [("cancelled", SECOND)]
    # every field of every record, the extras included (what a JSON log line would hold)
    logged = " ".join(str(record.__dict__) for record in caplog.records).lower()
    assert f"'lead_id': {world.lead_id}" in logged  # the requests were logged, by id
    for detail in (ADDRESS, "ada", "byron", "+12025550143", "europe/madrid"):
        # as a word: the token in a logged path is letters that may spell anything
        assert not re.search(rf"(?<![\w.+-]){re.escape(detail.lower())}(?![\w-])", logged)
