"""What the patient's booking page shows: the link's lead and consult type, their booking, and
the free times in their own time zone and language, a week of days with times at a time.

Read in a fixed number of queries whatever the number of times: the lead, the consult type,
the booked consult, then the free times of the whole booking horizon (``open_slots``), so the
"Later times" and "Earlier times" pages cost the same as the first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_location, get_timezone_name
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm

from intake.consults.availability import open_slots
from intake.consults.booking import booked_consult
from intake.consults.links import read_booking_token
from intake.consults.slots import Slot, by_local_day, first_per_time
from intake.display import zone_or
from intake.extensions import db
from intake.i18n import current_language
from intake.models import CLOSED, Consult, ConsultType, Lead

DAYS_SHOWN = 7  # days that have free times, on one page
# Babel's pattern for a day, by language; Babel's own "full" for any other ("lunes, 9 de marzo
# de 2026"). English keeps the day first, as the inquiry's dates do.
DAY_PATTERNS = {"en": "EEEE d MMMM y"}


class BookingForm(FlaskForm):
    """Only the CSRF token: the chosen time is checked against the free times, not a field's
    fixed choices (they change as others book)."""


@dataclass
class Booking:
    """One valid link: whose it is, what it books, and what is booked now."""

    token: str
    lead: Lead
    consult_type: ConsultType
    consult: Consult | None
    zone: ZoneInfo

    def past_cutoff(self, now: datetime) -> bool:
        """Too close to the consult for the patient to move or cancel it themselves."""
        hours = current_app.config["INTAKE_CONSULT_CHANGE_CUTOFF_HOURS"]
        return self.consult is not None and now >= self.consult.starts_at - timedelta(hours=hours)


def open_booking(token: str, *, now: datetime) -> Booking | None:
    """The booking a link opens, or None: a forged or expired link, a lead that is gone,
    closed or asked not to be contacted, or a consult type no longer offered all read the same
    to the person holding the link."""
    link = read_booking_token(token, now=now)
    if link is None:
        return None
    lead = db.session.get(Lead, link.lead_id)
    if lead is None or lead.erased_at is not None or lead.status in CLOSED:
        return None
    consult_type = db.session.get(ConsultType, link.consult_type_id)
    if consult_type is None or not consult_type.active:
        return None
    zone = zone_or(lead.time_zone, current_app.config["INTAKE_CLINIC_TIME_ZONE"])
    return Booking(token, lead, consult_type, booked_consult(lead.id), zone)


@dataclass
class Choices:
    """The free times shown on one page, by day, and where the pages before and after start."""

    days: list[tuple[date, list[Slot]]]
    earlier: date | None = None  # None: no earlier page
    has_earlier: bool = False
    later: date | None = None
    values: frozenset[str] = field(default_factory=frozenset)  # every free time, any page


def slot_value(slot: Slot | datetime) -> str:
    """A time as a radio button's value: its UTC start, to the minute."""
    moment = slot.starts_at if isinstance(slot, Slot) else slot
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def parse_slot(value: str | None) -> datetime | None:
    """A radio button's value read back: an aware UTC time, or None for anything else."""
    try:
        return datetime.strptime(value or "", "%Y-%m-%dT%H:%M%z").astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def free_times(booking: Booking, *, now: datetime) -> list[Slot]:
    """Every free time of the link's consult type, one per start. To move a consult, its own
    time frees the times it overlaps, and is not offered itself."""
    if booking.consult is None:
        return first_per_time(open_slots(booking.consult_type, now=now))
    own = booking.consult
    slots = open_slots(booking.consult_type, now=now, ignore_consult_id=own.id)
    return [slot for slot in first_per_time(slots) if slot.starts_at != own.starts_at]


def choices(slots: list[Slot], zone: ZoneInfo, start: date | None) -> Choices:
    """The page of days starting at ``start`` (the first day with times when None)."""
    days = list(by_local_day(slots, zone).items())
    first = next((n for n, (day, _slots) in enumerate(days) if start and day >= start), 0)
    if start and all(day < start for day, _slots in days):
        first = max(len(days) - DAYS_SHOWN, 0)
    shown = days[first : first + DAYS_SHOWN]
    later = days[first + DAYS_SHOWN][0] if len(days) > first + DAYS_SHOWN else None
    previous = days[max(first - DAYS_SHOWN, 0)][0] if first > 0 else None
    return Choices(
        days=shown,
        earlier=previous if first > DAYS_SHOWN else None,
        has_earlier=first > 0,
        later=later,
        values=frozenset(slot_value(slot) for slot in slots),
    )


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


# --- Words ---------------------------------------------------------------------------------


def day_words(day: date) -> str:
    language = current_language()
    return format_date(day, DAY_PATTERNS.get(language, "full"), locale=language)


def time_words(moment: datetime, zone: ZoneInfo) -> str:
    return format_time(moment, "short", tzinfo=zone, locale=current_language())


def when_words(moment: datetime, zone: ZoneInfo) -> str:
    """ "Monday 9 March 2026 at 10:00 AM", in the patient's zone and the page's language."""
    return _(
        "%(day)s at %(time)s",
        day=day_words(moment.astimezone(zone).date()),
        time=time_words(moment, zone),
    )


def zone_words(zone: ZoneInfo) -> str:
    """The zone in words: "Eastern Time (New York)", "hora oriental (Nueva York)"."""
    language = current_language()
    name = get_timezone_name(zone, "long", locale=language, zone_variant="generic")
    city = get_timezone_location(zone, locale=language, return_city=True)
    return name if city in name else f"{name} ({city})"


def kind_words(kind: str) -> str:
    return {
        "phone": _("A phone call"),
        "video": _("A video call"),
        "in_person": _("A visit to the clinic"),
    }.get(kind, _("A talk with our team"))


def length_words(minutes: int) -> str:
    return ngettext("%(num)s minute", "%(num)s minutes", minutes)
