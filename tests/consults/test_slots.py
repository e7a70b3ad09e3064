"""Free slots from weekly hours: both daylight-saving changes, two time zones, day changes,
holidays and bookings (pure: no database, no clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.consults.slots import (
    DayChange,
    Host,
    Slot,
    Window,
    by_local_day,
    first_per_time,
    free_slots,
    host_slots,
    open_periods,
)

NEW_YORK = ZoneInfo("America/New_York")  # 2027: summer time from 14 March to 7 November
MADRID = ZoneInfo("Europe/Madrid")  # 2027: summer time from 28 March to 31 October
HALF_HOUR = timedelta(minutes=30)
WEEKDAY_MORNINGS = tuple(Window(day, time(9), time(12)) for day in range(5))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def host(tz=NEW_YORK, windows=WEEKDAY_MORNINGS, staff_user_id: int = 1, **more) -> Host:
    return Host(staff_user_id=staff_user_id, tz=tz, windows=windows, **more)


def starts(slots: list[Slot]) -> list[datetime]:
    return [slot.starts_at for slot in slots]


def day_starts(slots: list[Slot], tz: ZoneInfo, day: date) -> list[str]:
    return [s.starts_at.astimezone(tz).strftime("%H:%M") for s in slots
            if s.starts_at.astimezone(tz).date() == day]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "before_utc", "after_utc"),
    [
        # Spring: Friday 12 March at 09:00 EST is 14:00 UTC; Monday 15 March at 09:00 EDT, 13:00.
        (date(2027, 3, 12), date(2027, 3, 15), utc(2027, 3, 12, 14), utc(2027, 3, 15, 13)),
        # Autumn: Friday 5 November at 09:00 EDT is 13:00 UTC; Monday 8 November EST, 14:00.
        (date(2027, 11, 5), date(2027, 11, 8), utc(2027, 11, 5, 13), utc(2027, 11, 8, 14)),
    ],
)
def test_hours_stay_on_the_hosts_clock_across_both_changes(before, after, before_utc, after_utc):
    slots = host_slots(
        host(), duration=HALF_HOUR, step=HALF_HOUR,
        start=utc(before.year, before.month, before.day), end=utc(after.year, after.month, 16),
    )  # fmt: skip
    for day, first in ((before, before_utc), (after, after_utc)):
        local = day_starts(slots, NEW_YORK, day)
        assert local == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
        assert min(s for s in starts(slots) if s.astimezone(NEW_YORK).date() == day) == first
    # The weekend has no hours.
    assert not day_starts(slots, NEW_YORK, before + timedelta(days=1))


def test_two_time_zones_change_on_different_weeks():
    """Between 14 and 28 March 2027 New York has changed and Madrid has not: the hosts' 09:00s
    are five hours apart instead of six; after the 28th, six again."""
    new_york, madrid = host(NEW_YORK, staff_user_id=1), host(MADRID, staff_user_id=2)
    week = dict(duration=HALF_HOUR, step=HALF_HOUR)
    for day, gap in ((date(2027, 3, 8), 6), (date(2027, 3, 22), 5), (date(2027, 3, 29), 6)):
        start = utc(day.year, day.month, day.day)
        slots = free_slots([new_york, madrid], start=start, end=start + timedelta(days=1), **week)
        first = {
            staff: min(s.starts_at for s in slots if s.staff_user_id == staff) for staff in (1, 2)
        }
        assert first[1] - first[2] == timedelta(hours=gap)
        assert first[2].astimezone(MADRID).time() == time(9)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2027, 3, 14), 2), (date(2027, 11, 7), 4)],  # spring: 02:00-03:00 never happens
)
def test_a_night_window_lasts_its_real_length_on_change_days(day, hours):
    sunday = host(windows=(Window(6, time(1), time(4)),))
    start = utc(day.year, day.month, day.day)
    periods = open_periods(sunday, start=start, end=start + timedelta(days=1))
    assert sum((end - begin for begin, end in periods), timedelta()) == timedelta(hours=hours)
    slots = host_slots(sunday, duration=HALF_HOUR, step=HALF_HOUR, start=start,
                       end=start + timedelta(days=1))  # fmt: skip
    assert len(slots) == hours * 2
    assert len(set(starts(slots))) == len(slots)  # no instant offered twice in the repeated hour


def test_day_changes_holidays_and_bookings_remove_times_and_extra_hours_add_them():
    monday, tuesday, wednesday = date(2027, 5, 3), date(2027, 5, 4), date(2027, 5, 5)
    booked = (utc(2027, 5, 6, 14), utc(2027, 5, 6, 15))  # Thursday 10:00-11:00 in New York
    someone = host(
        changes=(
            DayChange(monday),  # the whole day off
            DayChange(tuesday, False, time(10), time(11)),  # out for an hour
            DayChange(wednesday, True, time(14), time(15)),  # extra hours in the afternoon
        ),
        busy=(booked,),
    )
    slots = host_slots(
        someone, duration=HALF_HOUR, step=HALF_HOUR, start=utc(2027, 5, 3),
        end=utc(2027, 5, 8), holidays={date(2027, 5, 7)},
    )  # fmt: skip
    assert day_starts(slots, NEW_YORK, monday) == []
    assert day_starts(slots, NEW_YORK, tuesday) == ["09:00", "09:30", "11:00", "11:30"]
    assert day_starts(slots, NEW_YORK, wednesday)[-2:] == ["14:00", "14:30"]
    assert day_starts(slots, NEW_YORK, date(2027, 5, 6)) == ["09:00", "09:30", "11:00", "11:30"]
    assert day_starts(slots, NEW_YORK, date(2027, 5, 7)) == []  # the clinic's holiday


def test_a_slot_must_fit_before_closing_and_start_inside_the_range():
    hour_long = host_slots(
        host(), duration=timedelta(hours=1), step=HALF_HOUR,
        start=utc(2027, 5, 3, 14, 10), end=utc(2027, 5, 3, 23),
    )  # fmt: skip
    # Monday 10:10 New York onwards: 10:30 is the first start; 11:00 is the last that fits.
    assert day_starts(hour_long, NEW_YORK, date(2027, 5, 3)) == ["10:30", "11:00"]


def test_a_patient_chooses_each_time_once_and_sees_it_on_their_own_day():
    late = (Window(0, time(18), time(19)),)  # Monday 18:00 in New York: midnight in Madrid
    hosts = [host(windows=late, staff_user_id=7), host(windows=late, staff_user_id=3)]
    slots = free_slots(hosts, duration=HALF_HOUR, step=HALF_HOUR, start=utc(2027, 5, 3),
                       end=utc(2027, 5, 4, 12))  # fmt: skip
    assert len(slots) == 4
    chosen = first_per_time(slots)
    assert [s.staff_user_id for s in chosen] == [3, 3]  # the first host free at each time
    days = by_local_day(chosen, MADRID)
    assert list(days) == [date(2027, 5, 4)]
    assert [s.starts_at.astimezone(MADRID).strftime("%H:%M") for s in days[date(2027, 5, 4)]] == [
        "00:00",
        "00:30",
    ]


def test_naive_times_and_empty_hours_are_refused():
    with pytest.raises(ValueError, match="aware"):
        open_periods(host(), start=datetime(2027, 5, 3), end=datetime(2027, 5, 4))
    with pytest.raises(ValueError):
        Window(0, time(12), time(9))
    with pytest.raises(ValueError):
        host_slots(host(), duration=timedelta(0), step=HALF_HOUR, start=utc(2027, 5, 3),
                   end=utc(2027, 5, 4))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(["America/New_York", "Europe/Madrid", "Australia/Sydney", "UTC"]),
    first_day=st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 20)),
    minutes=st.sampled_from([15, 30, 45, 60, 90]),
    booked_hour=st.integers(min_value=0, max_value=23 * 7),
)
def test_every_slot_is_inside_open_hours_and_clear_of_bookings(
    zone, first_day, minutes, booked_hour
):
    tz = ZoneInfo(zone)
    start = datetime.combine(first_day, time(), tzinfo=UTC)
    end = start + timedelta(days=7)
    taken = (start + timedelta(hours=booked_hour), start + timedelta(hours=booked_hour + 1))
    someone = host(tz, windows=(*WEEKDAY_MORNINGS, Window(5, time(1), time(5))), busy=(taken,))
    duration = timedelta(minutes=minutes)
    slots = host_slots(someone, duration=duration, step=HALF_HOUR, start=start, end=end)
    periods = open_periods(someone, start=start, end=end + duration)
    assert slots == sorted(slots)
    for slot in slots:
        assert start <= slot.starts_at < end and slot.ends_at - slot.starts_at == duration
        assert any(begin <= slot.starts_at and slot.ends_at <= close for begin, close in periods)
        assert not (slot.starts_at < taken[1] and taken[0] < slot.ends_at)
