"""Business-hours arithmetic for the first-contact SLA and staff availability.

Pure: no Flask, no database. Times go in and come out as aware UTC datetimes; the calendar's
own time zone decides what "open" means, so a change to or from daylight saving time moves
the opening hour in UTC, never the wall-clock hours staff see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_WORKING_DAYS = (0, 1, 2, 3, 4)
# Far enough to cross any run of configured holidays; stops a loop on a calendar with no
# possible opening (every remaining day a holiday).
_MAX_DAYS_AHEAD = 3 * 366


@dataclass(frozen=True)
class BusinessCalendar:
    """When the clinic is open: working days (0 = Monday), daily hours and holidays."""

    tz: ZoneInfo
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("business days must be a non-empty set of weekdays 0..6")
        if self.start >= self.end:
            raise ValueError("business hours must start before they end on the same day")

    @classmethod
    def from_config(cls, mapping: Mapping) -> BusinessCalendar:
        """Build the clinic's calendar from the app's INTAKE_* settings."""
        return cls(
            tz=ZoneInfo(mapping["INTAKE_CLINIC_TIME_ZONE"]),
            days=frozenset(_weekdays(mapping["INTAKE_BUSINESS_DAYS"])),
            start=time.fromisoformat(mapping["INTAKE_BUSINESS_START"]),
            end=time.fromisoformat(mapping["INTAKE_BUSINESS_END"]),
            holidays=frozenset(date.fromisoformat(day) for day in mapping["INTAKE_HOLIDAYS"]),
        )


def _weekdays(raw: str | Iterable) -> list[int]:
    """Weekdays from a list or a comma-separated string ("0,1,2,3,4")."""
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    return [int(day) for day in raw]


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("pass an aware datetime (UTC); naive times are ambiguous")


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time on a day in ``tz``, as aware UTC."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _is_working_day(calendar: BusinessCalendar, day: date) -> bool:
    return day.weekday() in calendar.days and day not in calendar.holidays


def _open_periods(calendar: BusinessCalendar, after: datetime):
    """Each opening (open, close) in UTC that ends after ``after``, in order."""
    first_day = after.astimezone(calendar.tz).date()
    for offset in range(_MAX_DAYS_AHEAD):
        day = first_day + timedelta(days=offset)
        if not _is_working_day(calendar, day):
            continue
        opens, closes = (
            _local(day, calendar.start, calendar.tz),
            _local(day, calendar.end, calendar.tz),
        )
        if closes > after:
            yield opens, closes
    raise ValueError("the calendar has no opening within three years")


def add_business_hours(calendar: BusinessCalendar, start: datetime, hours: float) -> datetime:
    """The moment ``hours`` of open time after ``start``; outside hours counts from opening."""
    _require_aware(start)
    if hours < 0:
        raise ValueError("hours must not be negative")
    start = start.astimezone(UTC)
    remaining = timedelta(hours=hours)
    for opens, closes in _open_periods(calendar, start):
        cursor = max(start, opens)
        if remaining <= closes - cursor:
            return cursor + remaining
        remaining -= closes - cursor
    raise AssertionError("unreachable: _open_periods raises when it runs out")


def business_hours_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    """How many hours the clinic is open from ``start`` to ``end`` (0 when end is not later)."""
    _require_aware(start)
    _require_aware(end)
    open_time = timedelta()
    if end <= start:
        return 0.0
    for opens, closes in _open_periods(calendar, start):
        if opens >= end:
            break
        open_time += min(closes, end) - max(opens, start)
    return open_time / timedelta(hours=1)


def is_open(calendar: BusinessCalendar, at: datetime) -> bool:
    """Whether the clinic is open at ``at``."""
    _require_aware(at)
    local = at.astimezone(calendar.tz)
    return _is_working_day(calendar, local.date()) and calendar.start <= local.time() < calendar.end


def _shift_bounds(working_hours: dict, tz_name: str):
    """(zone, start, end, days) read from a staff member's hours; ValueError when unreadable."""
    try:
        zone = ZoneInfo(tz_name)
        start = time.fromisoformat(working_hours.get("start", "00:00"))
        end = time.fromisoformat(working_hours.get("end", "23:59:59.999999"))
        days = set(_weekdays(working_hours.get("days", DEFAULT_WORKING_DAYS)))
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ValueError("unreadable working hours") from error
    return zone, start, end, days


def next_shift_start(working_hours: dict | None, tz_name: str, after: datetime) -> datetime | None:
    """The first moment at or after ``after`` inside a staff member's own working hours.

    ``after`` itself when they are working then; None when their hours can never be met (no
    working days, or hours or a time zone that cannot be read). Same rules as
    ``staff_available``: a night shift belongs to the day it starts."""
    _require_aware(after)
    if not working_hours:
        return after
    try:
        zone, start, end, days = _shift_bounds(working_hours, tz_name)
    except ValueError:
        return None
    first_day = after.astimezone(zone).date() - timedelta(days=1)  # a night shift still running
    for offset in range(9):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens = _local(day, start, zone)
        closes = _local(day + timedelta(days=0 if start < end else 1), end, zone)
        if closes > after:
            return max(opens, after.astimezone(UTC))
    return None


def staff_available(working_hours: dict | None, tz_name: str, at: datetime) -> bool:
    """Whether ``at`` falls in a staff member's own working hours, in their time zone.

    No hours set means no restriction. Hours that end before they start run past midnight
    (a night shift belongs to the day it starts). A time zone or time that cannot be read
    counts as unavailable, so a typo sends leads to someone else rather than nowhere."""
    _require_aware(at)
    if not working_hours:
        return True
    try:
        zone, start, end, days = _shift_bounds(working_hours, tz_name)
    except ValueError:
        return False
    local = at.astimezone(zone)
    now, weekday = local.time(), local.weekday()
    if start < end:
        return weekday in days and start <= now < end
    return (weekday in days and now >= start) or ((weekday - 1) % 7 in days and now < end)
