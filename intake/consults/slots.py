"""Free consult slots from hosts' weekly hours, their days off, the clinic's holidays and what
is already booked.

Pure: no Flask, no database. Hours are wall-clock times in each host's own zone, turned into
UTC day by day, so a daylight-saving change moves them in UTC and never on the host's clock; a
window that starts in the hour a spring change skips opens when the clock does (zoneinfo's
``fold=0``), and one that crosses an autumn change lasts its real length. Every instant in and
out is aware UTC.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

Period = tuple[datetime, datetime]


@dataclass(frozen=True)
class Window:
    """Weekly hours: a weekday (0 = Monday) from ``start`` to ``end`` on the host's clock."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if self.start >= self.end:
            raise ValueError("hours must start before they end on the same day")


@dataclass(frozen=True)
class DayChange:
    """One day unlike the week: unavailable (the whole day when no times), or extra hours."""

    day: date
    available: bool = False
    start: time | None = None
    end: time | None = None


@dataclass(frozen=True)
class Host:
    """One member of staff who holds consults, with their hours and what they have booked."""

    staff_user_id: int
    tz: ZoneInfo
    windows: tuple[Window, ...]
    changes: tuple[DayChange, ...] = ()
    busy: tuple[Period, ...] = field(default=())


@dataclass(frozen=True, order=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    staff_user_id: int


def _utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _subtract(periods: list[Period], gap: Period) -> list[Period]:
    kept: list[Period] = []
    for start, end in periods:
        if gap[1] <= start or gap[0] >= end:
            kept.append((start, end))
            continue
        if start < gap[0]:
            kept.append((start, gap[0]))
        if gap[1] < end:
            kept.append((gap[1], end))
    return kept


def _day_periods(host: Host, day: date, holidays: frozenset[date]) -> list[Period]:
    """The host's open periods on one day of their own calendar, in UTC."""
    if day in holidays:
        return []
    changes = [change for change in host.changes if change.day == day]
    if any(not c.available and (c.start is None or c.end is None) for c in changes):
        return []
    hours = [(w.start, w.end) for w in host.windows if w.weekday == day.weekday()]
    hours += [(c.start, c.end) for c in changes if c.available and c.start and c.end]
    periods = sorted((_utc(day, s, host.tz), _utc(day, e, host.tz)) for s, e in hours)
    for change in changes:
        if not change.available and change.start and change.end:
            periods = _subtract(periods, (_utc(day, change.start, host.tz),
                                          _utc(day, change.end, host.tz)))  # fmt: skip
    return [(start, end) for start, end in periods if start < end]


def _whole_periods(
    host: Host, start: datetime, end: datetime, holidays: frozenset[date]
) -> list[Period]:
    """The host's open periods that overlap [start, end), whole (not clipped), in order."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("pass aware datetimes (UTC); naive times are ambiguous")
    day = start.astimezone(host.tz).date() - timedelta(days=1)
    last = end.astimezone(host.tz).date() + timedelta(days=1)
    periods: list[Period] = []
    while day <= last:
        periods += [p for p in _day_periods(host, day, holidays) if p[0] < end and start < p[1]]
        day += timedelta(days=1)
    return sorted(periods)


def open_periods(
    host: Host, *, start: datetime, end: datetime, holidays: Iterable[date] = ()
) -> list[Period]:
    """The host's open periods that overlap [start, end), clipped to it, in order."""
    return [
        (max(opens, start), min(closes, end))
        for opens, closes in _whole_periods(host, start, end, frozenset(holidays))
    ]


class _Busy:
    """What a host has booked, asked of every candidate slot (a month of half hours against a
    week of bookings): the periods by start, with the latest end among the first k of them. A
    period meets [start, end) when it starts before ``end`` and ends after ``start``, so some
    period does when, among those starting before ``end``, the latest end is after ``start``."""

    def __init__(self, busy: Sequence[Period]) -> None:
        ordered = sorted(busy)
        self.starts = [taken_start for taken_start, _ in ordered]
        self.latest_ends = list(accumulate((taken_end for _, taken_end in ordered), max))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        before_end = bisect_left(self.starts, end)
        return before_end > 0 and self.latest_ends[before_end - 1] > start


def host_slots(
    host: Host,
    *,
    duration: timedelta,
    step: timedelta,
    start: datetime,
    end: datetime,
    holidays: Iterable[date] = (),
) -> list[Slot]:
    """The host's free slots of ``duration`` starting in [start, end): starts every ``step``
    from the opening of each period (so 09:00, 09:30 ... on the host's clock), none
    overlapping anything already booked."""
    if duration <= timedelta(0) or step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    slots: list[Slot] = []
    busy = _Busy(host.busy)
    # Whole periods, so starts keep to the opening hour whatever ``start`` is; taken a duration
    # past ``end`` so a slot starting before it can finish.
    for opens, closes in _whole_periods(host, start, end + duration, frozenset(holidays)):
        at = opens
        while at + duration <= closes and at < end:
            if at >= start and not busy.overlaps(at, at + duration):
                slots.append(Slot(at, at + duration, host.staff_user_id))
            at += step
    return slots


def free_slots(
    hosts: Iterable[Host],
    *,
    duration: timedelta,
    step: timedelta,
    start: datetime,
    end: datetime,
    holidays: Iterable[date] = (),
) -> list[Slot]:
    """Every host's free slots in [start, end), soonest first (a time two hosts share appears
    once per host)."""
    holidays = frozenset(holidays)
    slots: list[Slot] = []
    for host in hosts:
        slots += host_slots(
            host, duration=duration, step=step, start=start, end=end, holidays=holidays
        )
    return sorted(slots)


def first_per_time(slots: Iterable[Slot]) -> list[Slot]:
    """One slot per start time (the first host free then): what a patient chooses from."""
    seen: dict[datetime, Slot] = {}
    for slot in sorted(slots):
        seen.setdefault(slot.starts_at, slot)
    return list(seen.values())


def by_local_day(slots: Iterable[Slot], tz: ZoneInfo) -> Mapping[date, list[Slot]]:
    """Slots grouped by the day they fall on in ``tz`` (the viewer's), in order."""
    days: dict[date, list[Slot]] = {}
    for slot in sorted(slots):
        days.setdefault(slot.starts_at.astimezone(tz).date(), []).append(slot)
    return days
