"""Administering consults: the types (what, how long, who holds them) and each host's hours.

The forms check shape; the rules that need the database or the whole input (a unique name,
hosts who are active staff, periods that start before they end and do not overlap) are checked
here. Weekly hours are wall-clock "HH:MM" in the host's own zone, as ``availability`` reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import delete, select

from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.models import (
    CONSULT_KINDS,
    AvailabilityException,
    AvailabilityWindow,
    ConsultType,
    ConsultTypeHost,
    StaffUser,
)
from intake.routing.admin import AdminInputError

WEEKDAYS = range(7)  # 0 = Monday, as AvailabilityWindow.weekday
DAY_CHANGE_KINDS = ("off", "unavailable", "extra")
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*(?:-|–|—|to)\s*(\d{1,2}):(\d{2})\s*$")


# The input breaks a rule the form cannot check: the administration's one error (its ``field``
# names the form field), as the routing pages raise it.
ConsultInputError = AdminInputError


@dataclass(frozen=True)
class ConsultTypeData:
    name: str
    kind: str
    duration_minutes: int
    video_url: str | None
    location: str | None
    active: bool
    host_ids: tuple[int, ...]


@dataclass(frozen=True)
class Period:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class DayChangeData:
    day: date
    kind: str  # one of DAY_CHANGE_KINDS
    start: time | None = None
    end: time | None = None


def save_consult_type(*, consult_type: ConsultType | None, data: ConsultTypeData) -> ConsultType:
    """Create or update a consult type and set who may hold it exactly. Types are never
    deleted (consults point at them): one no longer offered is made inactive."""
    if data.kind not in CONSULT_KINDS:
        raise ConsultInputError("kind", _l("Choose phone, video or in person."))
    if not 5 <= data.duration_minutes <= 480:
        raise ConsultInputError("duration_minutes", _l("Enter a length from 5 to 480 minutes."))
    if data.kind == "video" and not data.video_url:
        raise ConsultInputError("video_url", _l("Enter the meeting link for a video consult."))
    if data.kind == "in_person" and not data.location:
        raise ConsultInputError("location", _l("Enter the address for an in-person consult."))
    query = select(ConsultType.id).where(ConsultType.name == data.name)
    if consult_type is not None:
        query = query.where(ConsultType.id != consult_type.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ConsultInputError("name", _l("Another consult type already has this name."))
    hosts = set(data.host_ids)
    active = set(
        db.session.scalars(select(StaffUser.id).where(StaffUser.id.in_(hosts), StaffUser.active))
    )
    if hosts - active:
        raise ConsultInputError("host_ids", _l("Choose active staff members only."))
    if consult_type is None:
        consult_type = ConsultType()
        db.session.add(consult_type)
    consult_type.name = data.name
    consult_type.kind = data.kind
    consult_type.duration_minutes = data.duration_minutes
    consult_type.video_url = data.video_url or None
    consult_type.location = data.location or None
    consult_type.active = data.active
    db.session.flush()
    db.session.execute(
        delete(ConsultTypeHost).where(ConsultTypeHost.consult_type_id == consult_type.id)
    )
    db.session.add_all(
        ConsultTypeHost(consult_type_id=consult_type.id, staff_user_id=staff_id)
        for staff_id in sorted(hosts)
    )
    db.session.flush()
    return consult_type


def parse_time(text: str) -> time | None:
    """ "9:00" or "09:00" as a time; None when it is not a real time of day."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not match:
        return None
    hour, minute = int(match[1]), int(match[2])
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse_periods(text: str, *, field: str) -> list[Period]:
    """ "09:00–12:00, 13:00–17:00" as periods in order; each must start before it ends and
    none may overlap another. Empty text: no hours that day."""
    periods = []
    for part in filter(None, (piece.strip() for piece in (text or "").split(","))):
        match = _PERIOD.match(part)
        start = parse_time(f"{match[1]}:{match[2]}") if match else None
        end = parse_time(f"{match[3]}:{match[4]}") if match else None
        if start is None or end is None:
            message = _l('Write each period as "09:00–12:00", separated by commas.')
            raise ConsultInputError(field, message)
        if start >= end:
            raise ConsultInputError(field, _l("Each period must start before it ends."))
        periods.append(Period(start, end))
    periods.sort(key=lambda period: period.start)
    for before, after in zip(periods, periods[1:], strict=False):
        if after.start < before.end:
            raise ConsultInputError(field, _l("The periods on one day must not overlap."))
    return periods


def weekly_hours(staff_user_id: int) -> dict[int, list[Period]]:
    """Each weekday's periods for a host, in order (a day with none is missing)."""
    hours: dict[int, list[Period]] = {}
    for row in db.session.scalars(
        select(AvailabilityWindow)
        .where(AvailabilityWindow.staff_user_id == staff_user_id)
        .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_time)
    ):
        period = Period(time.fromisoformat(row.start_time), time.fromisoformat(row.end_time))
        hours.setdefault(row.weekday, []).append(period)
    return hours


def set_weekly_hours(*, staff_user_id: int, hours: dict[int, list[Period]]) -> None:
    """Replace a host's weekly hours with ``hours`` (weekday → periods, already checked)."""
    db.session.execute(
        delete(AvailabilityWindow).where(AvailabilityWindow.staff_user_id == staff_user_id)
    )
    db.session.add_all(
        AvailabilityWindow(
            staff_user_id=staff_user_id,
            weekday=weekday,
            start_time=f"{period.start:%H:%M}",
            end_time=f"{period.end:%H:%M}",
        )
        for weekday in WEEKDAYS
        for period in hours.get(weekday, ())
    )
    db.session.flush()


def add_day_change(*, staff_user_id: int, data: DayChangeData) -> AvailabilityException:
    """Record a day that differs from the week: off, unavailable from–to, or extra hours."""
    if data.kind not in DAY_CHANGE_KINDS:
        raise ConsultInputError("kind", _l("Choose what changes that day."))
    timed = data.kind != "off"
    if timed and data.start is None:
        raise ConsultInputError("start", _l('Enter a time such as "09:00".'))
    if timed and data.end is None:
        raise ConsultInputError("end", _l('Enter a time such as "17:00".'))
    if timed and data.start >= data.end:
        raise ConsultInputError("end", _l("The end must be after the start."))
    row = AvailabilityException(
        staff_user_id=staff_user_id,
        day=data.day,
        available=data.kind == "extra",
        start_time=f"{data.start:%H:%M}" if timed else None,
        end_time=f"{data.end:%H:%M}" if timed else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


def day_changes(staff_user_id: int, *, since: date) -> list[AvailabilityException]:
    """A host's day changes from ``since`` on, by date."""
    return list(
        db.session.scalars(
            select(AvailabilityException)
            .where(
                AvailabilityException.staff_user_id == staff_user_id,
                AvailabilityException.day >= since,
            )
            .order_by(AvailabilityException.day, AvailabilityException.start_time)
        )
    )


def remove_day_change(*, staff_user_id: int, change_id: int) -> bool:
    """Remove one of the host's day changes; False when it is not theirs (or is gone)."""
    result = db.session.execute(
        delete(AvailabilityException).where(
            AvailabilityException.id == change_id,
            AvailabilityException.staff_user_id == staff_user_id,
        )
    )
    db.session.flush()
    return result.rowcount == 1
