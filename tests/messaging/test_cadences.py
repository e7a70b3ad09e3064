"""The cadence file and its timing rules, without an app or a database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.messaging.cadences import (
    DEFINITION,
    CadenceError,
    load_cadences,
    outside_quiet_hours,
    parse_cadences,
    parse_delay,
)

DAY = {"day_starts": time(8), "day_ends": time(20)}
NURTURE = {
    "trigger": "inquiry.completed", "audience": "patient", "consent": "follow_up_emails",
    "template": "nurture", "per": "lead", "steps": ["1d", "3d"], "stops": ["contacted"],
}  # fmt: skip


def test_the_cadence_file_loads_as_documented():
    cadences = load_cadences()

    assert set(cadences) == {"confirmation", "resume_reminder", "resume_link", "nurture"}
    confirmation, reminder, nurture = (
        cadences[name] for name in ("confirmation", "resume_reminder", "nurture")
    )
    assert (confirmation.trigger, confirmation.quiet_hours, confirmation.steps) == (
        "inquiry.completed", False, (timedelta(0),),
    )  # fmt: skip
    assert (reminder.trigger, reminder.consent, reminder.per) == (
        "inquiry.started", "resume_reminders", "inquiry",
    )  # fmt: skip
    assert reminder.steps == tuple(timedelta(hours=h) for h in (1, 24, 72))
    assert reminder.stops == {"inquiry_completed", "closed"}
    assert (nurture.per, nurture.consent, nurture.stops) == (
        "lead", "follow_up_emails", {"contacted", "closed"},
    )  # fmt: skip
    assert nurture.steps == tuple(timedelta(days=d) for d in (1, 3, 7, 14))
    link = cadences["resume_link"]  # asked for by the patient: no consent, no waiting
    assert (link.trigger, link.per, link.consent, link.quiet_hours, link.steps) == (
        "inquiry.saved_for_later", "request", None, False, (timedelta(0),),
    )  # fmt: skip
    assert all(c.audience == "patient" and c.template == c.name for c in cadences.values())


def test_the_cadence_file_is_read_from_a_given_path(tmp_path):
    path = tmp_path / "cadences.yaml"
    path.write_text(yaml.safe_dump({"cadences": {"nurture": NURTURE}}))

    assert list(load_cadences(path)) == ["nurture"]
    assert load_cadences(DEFINITION) == load_cadences()


@pytest.mark.parametrize(
    ("text", "delay"),
    [
        ("0", timedelta(0)),
        (0, timedelta(0)),
        ("30m", timedelta(minutes=30)),
        ("45", timedelta(minutes=45)),
        ("24h", timedelta(hours=24)),
        ("3d", timedelta(days=3)),
        (" 1h ", timedelta(hours=1)),
    ],
)
def test_delays_are_read_as_minutes_hours_or_days(text, delay):
    assert parse_delay(text, "cadence 'nurture'") == delay


@pytest.mark.parametrize("text", ["", "h", "1w", "-1h", "1.5h", "1 h", "2d3h", "soon"])
def test_a_delay_that_is_not_a_number_and_a_unit_is_refused_by_name(text):
    with pytest.raises(CadenceError, match=r"^cadence 'nurture': '.*' is not a delay"):
        parse_delay(text, "cadence 'nurture'")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trigger": "inquiry.updated"}, "trigger must be one of"),
        ({"trigger": None}, "trigger must be one of"),
        ({"audience": "doctor"}, "audience must be patient or staff"),
        ({"stops": ["contacted", "replied"]}, "unknown stop condition 'replied'"),
        ({"steps": ["1d", "1w"]}, "'1w' is not a delay"),
        ({"per": None}, "per must be inquiry, lead or request"),
        ({"per": "week"}, "per must be inquiry, lead or request"),
        ({"steps": []}, "needs steps and a template"),
        ({"template": None}, "needs steps and a template"),
    ],
    ids=[
        "bad-trigger", "missing-trigger", "bad-audience", "unknown-stop", "bad-delay",
        "missing-per", "bad-per", "no-steps", "no-template",
    ],
)  # fmt: skip
def test_a_malformed_cadence_is_refused_with_its_name(change, message):
    spec = {key: value for key, value in {**NURTURE, **change}.items() if value is not None}
    document = {"cadences": {"confirmation": {**NURTURE, "per": "inquiry"}, "nurture": spec}}

    with pytest.raises(CadenceError, match=rf"^cadence 'nurture': .*{message}"):
        parse_cadences(document)


def test_a_malformed_file_is_refused_when_loaded(tmp_path):
    broken, bad_trigger = tmp_path / "broken.yaml", tmp_path / "bad_trigger.yaml"
    broken.write_text("cadences:\n  nurture: [unclosed\n")
    bad_trigger.write_text(yaml.safe_dump({"cadences": {"nurture": {**NURTURE, "trigger": "x"}}}))

    with pytest.raises(CadenceError, match=r"^cannot read broken\.yaml"):
        load_cadences(broken)
    with pytest.raises(CadenceError, match=r"^cadence 'nurture': trigger"):
        load_cadences(bad_trigger)
    with pytest.raises(CadenceError, match=r"^cannot read missing\.yaml"):
        load_cadences(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    "document",
    [None, ["nurture"], {"cadences": {"nurture": "1d"}}],
    ids=["empty-file", "a-list", "cadence-not-a-mapping"],
)
def test_a_file_of_the_wrong_shape_is_refused_as_a_cadence_error(document):
    with pytest.raises(CadenceError):
        parse_cadences(document)


def at(zone: str, *wall_clock: int) -> datetime:
    """A wall-clock time in ``zone``, as aware UTC."""
    return datetime(*wall_clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(
    ("case", "zone", "moment", "expected"),
    [
        ("inside the day", "America/New_York",
         at("America/New_York", 2026, 3, 3, 14, 30), at("America/New_York", 2026, 3, 3, 14, 30)),
        ("at the start of the day", "America/New_York",
         at("America/New_York", 2026, 3, 3, 8), at("America/New_York", 2026, 3, 3, 8)),
        ("a minute before the end", "America/New_York",
         at("America/New_York", 2026, 3, 3, 19, 59), at("America/New_York", 2026, 3, 3, 19, 59)),
        ("at the end of the day", "America/New_York",
         at("America/New_York", 2026, 3, 3, 20), at("America/New_York", 2026, 3, 4, 8)),
        ("late evening", "America/New_York",
         at("America/New_York", 2026, 3, 3, 22, 15), at("America/New_York", 2026, 3, 4, 8)),
        ("just before midnight", "America/New_York",
         at("America/New_York", 2026, 3, 3, 23, 59), at("America/New_York", 2026, 3, 4, 8)),
        ("at midnight", "America/New_York",
         at("America/New_York", 2026, 3, 4, 0), at("America/New_York", 2026, 3, 4, 8)),
        ("early morning", "America/New_York",
         at("America/New_York", 2026, 3, 4, 6, 10), at("America/New_York", 2026, 3, 4, 8)),
        ("into daylight saving time", "America/New_York",  # clocks go forward on 8 March
         at("America/New_York", 2026, 3, 7, 21), datetime(2026, 3, 8, 12, tzinfo=UTC)),
        ("in the night clocks go forward", "America/New_York",
         datetime(2026, 3, 8, 7, 30, tzinfo=UTC), datetime(2026, 3, 8, 12, tzinfo=UTC)),
        ("out of daylight saving time", "America/New_York",  # clocks go back on 1 November
         at("America/New_York", 2026, 10, 31, 21), datetime(2026, 11, 1, 13, tzinfo=UTC)),
        ("in the hour that repeats", "America/New_York",
         datetime(2026, 11, 1, 6, 30, tzinfo=UTC), datetime(2026, 11, 1, 13, tzinfo=UTC)),
        ("Europe into summer time", "Europe/London",
         at("Europe/London", 2026, 3, 28, 23), datetime(2026, 3, 29, 7, tzinfo=UTC)),
        ("ahead of UTC, late evening", "Asia/Tokyo",
         datetime(2026, 3, 3, 14, tzinfo=UTC), datetime(2026, 3, 3, 23, tzinfo=UTC)),
        ("ahead of UTC, early morning", "Asia/Tokyo",
         datetime(2026, 3, 3, 20, tzinfo=UTC), datetime(2026, 3, 3, 23, tzinfo=UTC)),
        ("ahead of UTC, inside the day", "Asia/Tokyo",
         datetime(2026, 3, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, 2, tzinfo=UTC)),
        ("ahead by a half hour", "Asia/Kolkata",
         datetime(2026, 3, 3, 15, tzinfo=UTC), datetime(2026, 3, 4, 2, 30, tzinfo=UTC)),
        ("behind UTC, late evening", "America/Los_Angeles",
         datetime(2026, 3, 4, 5, tzinfo=UTC), datetime(2026, 3, 4, 16, tzinfo=UTC)),
        ("behind UTC, early morning", "America/Los_Angeles",
         datetime(2026, 3, 4, 14, tzinfo=UTC), datetime(2026, 3, 4, 16, tzinfo=UTC)),
        ("behind UTC, on another UTC day", "Pacific/Honolulu",
         datetime(2026, 3, 4, 7, tzinfo=UTC), datetime(2026, 3, 4, 18, tzinfo=UTC)),
        ("across the new year", "Australia/Sydney",
         at("Australia/Sydney", 2026, 12, 31, 21), at("Australia/Sydney", 2027, 1, 1, 8)),
    ],
)  # fmt: skip
def test_outside_quiet_hours(case, zone, moment, expected):
    assert outside_quiet_hours(moment, zone, **DAY) == expected


def test_the_answer_keeps_the_time_zone_it_was_asked_in():
    tokyo = datetime(2026, 3, 3, 23, tzinfo=ZoneInfo("Asia/Tokyo"))

    moved = outside_quiet_hours(tokyo, "America/Los_Angeles", **DAY)  # 06:00 in Los Angeles

    assert moved.tzinfo is tokyo.tzinfo and moved == at("America/Los_Angeles", 2026, 3, 3, 8)


ZONES = ["America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata",
         "Europe/London", "Australia/Sydney", "Pacific/Chatham", "UTC"]  # fmt: skip


@settings(max_examples=300, deadline=None, database=None)
@given(
    moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    zone=st.sampled_from(ZONES),
)
def test_the_answer_is_the_first_daytime_moment_at_or_after_the_given_one(moment, zone):
    moment = moment.replace(tzinfo=UTC)

    moved = outside_quiet_hours(moment, zone, **DAY)

    local = moved.astimezone(ZoneInfo(zone))
    assert moment <= moved <= moment + timedelta(hours=13)  # 12 hours, 13 when clocks go back
    assert time(8) <= local.time() < time(20)
    if moved != moment:
        assert local.time() == time(8)
