"""Business hours, by table: openings, evenings, weekends, holidays and daylight saving time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from intake.routing.business_hours import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    is_open,
    next_shift_start,
    staff_available,
)

NEW_YORK = ZoneInfo("America/New_York")
CLINIC = BusinessCalendar(
    tz=NEW_YORK,
    days=frozenset({0, 1, 2, 3, 4}),
    start=time(9),
    end=time(17),
    holidays=frozenset({date(2024, 7, 4), date(2024, 12, 25)}),
)


def ny(*args) -> datetime:
    """A New York wall-clock time, as aware UTC."""
    return datetime(*args, tzinfo=NEW_YORK).astimezone(UTC)


@pytest.mark.parametrize(
    ("case", "start", "hours", "due"),
    [
        ("within a day", ny(2024, 5, 14, 10), 2, ny(2024, 5, 14, 12)),
        ("half an hour", ny(2024, 5, 14, 10), 0.5, ny(2024, 5, 14, 10, 30)),
        ("ending exactly at closing", ny(2024, 5, 14, 15), 2, ny(2024, 5, 14, 17)),
        ("across the evening", ny(2024, 5, 14, 16), 2, ny(2024, 5, 15, 10)),
        ("starting after closing", ny(2024, 5, 14, 19, 45), 2, ny(2024, 5, 15, 11)),
        ("starting before opening", ny(2024, 5, 14, 7), 2, ny(2024, 5, 14, 11)),
        ("more than a working day", ny(2024, 5, 13, 9), 10, ny(2024, 5, 14, 11)),
        ("on a weekend", ny(2024, 5, 18, 12), 2, ny(2024, 5, 20, 11)),
        ("Friday afternoon to Monday", ny(2024, 5, 17, 15, 30), 2, ny(2024, 5, 20, 9, 30)),
        ("over a holiday", ny(2024, 7, 3, 16, 30), 2, ny(2024, 7, 5, 10, 30)),
        ("on a holiday", ny(2024, 12, 25, 11), 2, ny(2024, 12, 26, 11)),
        ("into daylight saving time", ny(2024, 3, 8, 16), 2, ny(2024, 3, 11, 10)),
        ("out of daylight saving time", ny(2024, 11, 1, 16), 2, ny(2024, 11, 4, 10)),
        ("zero hours outside opening", ny(2024, 5, 18, 12), 0, ny(2024, 5, 20, 9)),
    ],
)
def test_add_business_hours(case, start, hours, due):
    assert add_business_hours(CLINIC, start, hours) == due


def test_daylight_saving_moves_the_opening_in_utc_not_on_the_wall_clock():
    before = add_business_hours(CLINIC, ny(2024, 3, 8, 16), 2)
    assert before == datetime(2024, 3, 11, 14, tzinfo=UTC)  # 10:00 EDT is UTC-4
    assert add_business_hours(CLINIC, ny(2024, 3, 1, 16), 2) == datetime(2024, 3, 4, 15, tzinfo=UTC)


def test_results_are_utc_whatever_zone_the_start_is_in():
    paris_noon = datetime(2024, 5, 14, 18, tzinfo=timezone(timedelta(hours=2)))  # 12:00 New York
    due = add_business_hours(CLINIC, paris_noon, 1)
    assert due.tzinfo is UTC
    assert due == ny(2024, 5, 14, 13)


@pytest.mark.parametrize(
    ("start", "hours"), [(datetime(2024, 5, 14, 12), 1), (ny(2024, 5, 14, 12), -1)]
)
def test_naive_starts_and_negative_hours_are_refused(start, hours):
    with pytest.raises(ValueError):
        add_business_hours(CLINIC, start, hours)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (ny(2024, 5, 14, 9), True),
        (ny(2024, 5, 14, 16, 59), True),
        (ny(2024, 5, 14, 17), False),
        (ny(2024, 5, 14, 8, 59), False),
        (ny(2024, 5, 18, 12), False),
        (ny(2024, 7, 4, 12), False),
    ],
)
def test_is_open(at, expected):
    assert is_open(CLINIC, at) is expected


def test_calendar_from_config_reads_the_settings():
    calendar = BusinessCalendar.from_config(
        {
            "INTAKE_CLINIC_TIME_ZONE": "Europe/London",
            "INTAKE_BUSINESS_DAYS": "0,1,2,3",
            "INTAKE_BUSINESS_START": "08:30",
            "INTAKE_BUSINESS_END": "16:00",
            "INTAKE_HOLIDAYS": ["2024-12-26"],
        }
    )
    assert calendar == BusinessCalendar(
        tz=ZoneInfo("Europe/London"),
        days=frozenset({0, 1, 2, 3}),
        start=time(8, 30),
        end=time(16),
        holidays=frozenset({date(2024, 12, 26)}),
    )


@pytest.mark.parametrize(
    ("days", "start", "end"), [(frozenset(), time(9), time(17)), ({0}, time(17), time(9))]
)
def test_a_calendar_that_never_opens_is_refused(days, start, end):
    with pytest.raises(ValueError):
        BusinessCalendar(tz=NEW_YORK, days=frozenset(days), start=start, end=end)


OFFICE = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}
NIGHTS = {"days": [0, 1, 2, 3, 4], "start": "22:00", "end": "06:00"}


@pytest.mark.parametrize(
    ("hours", "tz_name", "at", "expected"),
    [
        (OFFICE, "America/New_York", ny(2024, 5, 15, 11), True),
        (OFFICE, "America/New_York", ny(2024, 5, 15, 17), False),
        (OFFICE, "America/New_York", ny(2024, 5, 18, 11), False),
        (OFFICE, "Europe/London", datetime(2024, 5, 15, 14, tzinfo=UTC), True),  # 15:00 BST
        (OFFICE, "Europe/London", datetime(2024, 5, 15, 16, 30, tzinfo=UTC), False),
        (OFFICE, "Asia/Tokyo", ny(2024, 5, 15, 11), False),  # midnight in Tokyo
        (NIGHTS, "UTC", datetime(2024, 5, 17, 23, tzinfo=UTC), True),  # Friday night
        (NIGHTS, "UTC", datetime(2024, 5, 18, 5, tzinfo=UTC), True),  # the same shift
        (NIGHTS, "UTC", datetime(2024, 5, 18, 23, tzinfo=UTC), False),  # Saturday night
        (NIGHTS, "UTC", datetime(2024, 5, 15, 12, tzinfo=UTC), False),
        ({}, "America/New_York", ny(2024, 5, 18, 3), True),
        (OFFICE, "Not/AZone", ny(2024, 5, 15, 11), False),
        ({"start": "nine"}, "UTC", ny(2024, 5, 15, 11), False),
    ],
)
def test_staff_available_in_their_own_hours(hours, tz_name, at, expected):
    assert staff_available(hours, tz_name, at) is expected


OFFICE = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}
NIGHTS = {"days": [4], "start": "22:00", "end": "06:00"}  # Friday night into Saturday


@pytest.mark.parametrize(
    ("case", "hours", "zone", "after", "starts"),
    [
        ("working now", OFFICE, "America/New_York", ny(2024, 5, 15, 11), ny(2024, 5, 15, 11)),
        ("Friday night to Monday", OFFICE, "America/New_York", ny(2024, 5, 17, 21, 15),
         ny(2024, 5, 20, 9)),
        ("another time zone", OFFICE, "Europe/London", ny(2024, 5, 17, 21, 15),
         ny(2024, 5, 20, 4)),
        ("a night shift still running", NIGHTS, "America/New_York", ny(2024, 5, 18, 3),
         ny(2024, 5, 18, 3)),
        ("a night shift later today", NIGHTS, "America/New_York", ny(2024, 5, 17, 12),
         ny(2024, 5, 17, 22)),
        ("across the change to summer time", OFFICE, "America/New_York", ny(2024, 3, 8, 18),
         ny(2024, 3, 11, 9)),
        ("no hours set: any time", {}, "America/New_York", ny(2024, 5, 18, 3), ny(2024, 5, 18, 3)),
        ("no working days", {"days": []}, "America/New_York", ny(2024, 5, 18, 3), None),
        ("an unknown time zone", OFFICE, "Mars/Olympus", ny(2024, 5, 18, 3), None),
    ],
)  # fmt: skip
def test_next_shift_start_agrees_with_staff_available(case, hours, zone, after, starts):
    assert next_shift_start(hours, zone, after) == starts, case
    if starts is not None:
        assert staff_available(hours, zone, starts), case
        assert starts == after or not staff_available(hours, zone, starts - timedelta(minutes=1))


def test_business_hours_between_counts_only_open_time():
    friday_night, monday_11 = ny(2024, 5, 17, 21, 15), ny(2024, 5, 20, 11)
    assert business_hours_between(CLINIC, friday_night, monday_11) == 2
    assert business_hours_between(CLINIC, ny(2024, 7, 3, 16), ny(2024, 7, 5, 10)) == 2  # 4 July
    assert business_hours_between(CLINIC, monday_11, friday_night) == 0
