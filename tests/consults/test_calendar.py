"""The calendar invitation of a consult, generated from consults the booking service made and
read back with icalendar: one event through its whole life (the same UID), a sequence that goes
up with each change, a request then a cancel, the right instants across a clock change, and
nothing about the patient in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from intake.consults import booking
from intake.consults.calendar import Invitation, content_type, invitation_ics
from tests.consults.conftest import VIDEO_URL, consult_lead, make_consult_type
from tests.factories import ADDRESS as PATIENT_EMAIL
from tests.factories import LEAD, NOW

# Thursday 5 March 2026, 10:00 in New York (EST, UTC-5) and, after the clocks go forward on
# Sunday 8 March, Tuesday 10 March 10:00 (EDT, UTC-4): the same wall-clock time, an hour apart
# in UTC.
BEFORE_DST = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
AFTER_DST = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
WORDS = Invitation(
    summary="Consultation with the clinic",
    description="To move or cancel it, open this link:\nhttps://intake.test/consult/TOKEN",
    organizer="The clinic <no-reply@clinic.example>",
    location=VIDEO_URL,
    url=VIDEO_URL,
)


def read(ics: bytes):
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_one_event_is_requested_moved_and_cancelled_under_one_uid(consult_app):
    kind, _host = make_consult_type()
    lead = consult_lead()
    consult = booking.book(
        lead=lead, consult_type=kind, starts_at=BEFORE_DST, booked_by="staff", actor=None, now=NOW
    )
    booked = read(invitation_ics(consult, WORDS, now=NOW))
    later = NOW + timedelta(hours=1)
    booking.move(consult=consult, starts_at=AFTER_DST, actor=None, now=later)
    moved = read(invitation_ics(consult, WORDS, now=later))
    booking.cancel(consult=consult, actor=None, now=later + timedelta(hours=1))
    cancelled = read(invitation_ics(consult, WORDS, now=later + timedelta(hours=1)))

    assert [c["METHOD"] for c, _e in (booked, moved, cancelled)] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [e["STATUS"] for _c, e in (booked, moved, cancelled)] == [
        "CONFIRMED",
        "CONFIRMED",
        "CANCELLED",
    ]
    assert {str(e["UID"]) for _c, e in (booked, moved, cancelled)} == {consult.uid}
    assert [int(e["SEQUENCE"]) for _c, e in (booked, moved, cancelled)] == [0, 1, 2]
    assert [e.decoded("DTSTAMP") for _c, e in (booked, moved)] == [NOW, later]


def test_times_are_the_instants_booked_either_side_of_the_clock_change(consult_app):
    kind, _host = make_consult_type()
    consult = booking.book(
        lead=consult_lead(), consult_type=kind, starts_at=BEFORE_DST, booked_by="staff",
        actor=None, now=NOW,
    )  # fmt: skip
    _c, event = read(invitation_ics(consult, WORDS, now=NOW))
    assert event.decoded("DTSTART") == BEFORE_DST and event.decoded("DTEND") == BEFORE_DST + (
        timedelta(minutes=30)
    )
    assert b"DTSTART:20260305T150000Z" in invitation_ics(consult, WORDS, now=NOW)

    booking.move(consult=consult, starts_at=AFTER_DST, actor=None, now=NOW)
    ics = invitation_ics(consult, WORDS, now=NOW)
    _c, event = read(ics)
    assert event.decoded("DTSTART") == AFTER_DST  # 10:00 in New York again, 14:00 UTC now
    assert b"DTSTART:20260310T140000Z" in ics and b"DTEND:20260310T143000Z" in ics


def test_the_invitation_names_the_clinic_and_the_link_never_the_patient(consult_app):
    kind, _host = make_consult_type()
    consult = booking.book(
        lead=consult_lead(), consult_type=kind, starts_at=BEFORE_DST, booked_by="staff",
        actor=None, now=NOW,
    )  # fmt: skip
    ics = invitation_ics(consult, WORDS, now=NOW)
    _c, event = read(ics)
    assert str(event["ORGANIZER"]) == "mailto:no-reply@clinic.example"
    assert event["ORGANIZER"].params["CN"] == "The clinic"
    assert str(event["URL"]) == VIDEO_URL and str(event["LOCATION"]) == VIDEO_URL
    assert "https://intake.test/consult/TOKEN" in str(event["DESCRIPTION"])
    # The UID is random hex, which may spell "ada" by chance: it is left out of the search.
    lines = ics.decode().replace("\r\n ", "").lower().splitlines()
    text = "\n".join(line for line in lines if not line.startswith("uid:"))
    for detail in (LEAD["first_name"], LEAD["last_name"], PATIENT_EMAIL, LEAD["phone"]):
        assert detail.lower() not in text
    assert "attendee" not in text


def test_the_content_type_carries_the_method():
    assert content_type("REQUEST") == "text/calendar; method=REQUEST; charset=UTF-8"
    assert content_type("CANCEL") == "text/calendar; method=CANCEL; charset=UTF-8"
