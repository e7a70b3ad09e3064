"""What the staff calendar shows: consults grouped by the viewer's own days.

A day is midnight to midnight on the viewer's clock, so it is 23 or 25 hours long across a
daylight-saving change; the bounds are found per day in the zone, never by adding 24 hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select

from intake.display import catalogue_words, local_clock
from intake.extensions import db
from intake.i18n import gettext as _
from intake.models import Consult, ConsultType, StaffUser


@dataclass(frozen=True)
class Entry:
    consult_id: int
    lead_id: int
    starts_at: datetime  # in the viewer's zone
    ends_at: datetime
    start_clock: str  # "14:05" on the viewer's clock (written here, once per entry)
    end_clock: str
    minutes: int
    length_words: Markup  # "30 min"
    link_words: Markup  # "Consult, lead 123"
    type_name: str
    status: str
    host_name: str


@dataclass(frozen=True)
class Day:
    day: date
    entries: list[Entry]


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight that day on the zone's clock, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def week_of(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def calendar_days(
    first: date, count: int, *, zone: ZoneInfo, staff_user_id: int | None
) -> list[Day]:
    """``count`` days from ``first`` with their consults (one host's, or everyone's when
    ``staff_user_id`` is None), in one query."""
    start, end = day_start(first, zone), day_start(first + timedelta(days=count), zone)
    query = (
        select(Consult, ConsultType.name, StaffUser.name)
        .join(ConsultType, ConsultType.id == Consult.consult_type_id)
        .join(StaffUser, StaffUser.id == Consult.staff_user_id)
        .where(Consult.starts_at >= start, Consult.starts_at < end)
        .order_by(Consult.starts_at, Consult.id)
    )
    if staff_user_id is not None:
        query = query.where(Consult.staff_user_id == staff_user_id)
    days = {first + timedelta(days=offset): [] for offset in range(count)}
    # Translated once for the page, not for each of a week's entries.
    length, link = catalogue_words(_("%(minutes)s min")), catalogue_words(_("Consult, lead %(id)s"))
    for consult, type_name, host_name in db.session.execute(query):
        starts, ends = consult.starts_at.astimezone(zone), consult.ends_at.astimezone(zone)
        minutes = round((consult.ends_at - consult.starts_at).total_seconds() / 60)
        days[starts.date()].append(
            Entry(
                consult_id=consult.id,
                lead_id=consult.lead_id,
                starts_at=starts,
                ends_at=ends,
                start_clock=local_clock(starts, zone),
                end_clock=local_clock(ends, zone),
                minutes=minutes,
                length_words=length % {"minutes": minutes},
                link_words=link % {"id": consult.lead_id},
                type_name=type_name,
                status=consult.status,
                host_name=host_name,
            )
        )
    return [Day(day, entries) for day, entries in days.items()]


def hosts_to_choose() -> list[tuple[int, str]]:
    """Active staff, by name, for an admin choosing whose calendar to see."""
    query = select(StaffUser.id, StaffUser.name).where(StaffUser.active).order_by(StaffUser.name)
    return [(staff_id, name) for staff_id, name in db.session.execute(query)]
