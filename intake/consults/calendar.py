"""A consult as a calendar invitation (iTIP, RFC 5546), attached to the patient's emails.

The confirmation and each update are a ``METHOD:REQUEST`` of the same event (its ``UID`` never
changes, its ``SEQUENCE`` goes up on every move), so the patient's calendar moves the entry
instead of adding another; the cancellation is a ``METHOD:CANCEL`` with the raised sequence and
``STATUS:CANCELLED``, so the entry goes. Times are written in UTC: the patient's calendar shows
them in its own zone. The invitation names the clinic, the time, the kind of consult and the
link to manage it, never the patient: no attendee, name, address or phone in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr

from intake.models import Consult

PRODID = "-//intake//consults//EN"
REQUEST, CANCEL = "REQUEST", "CANCEL"
FILENAME = "invite.ics"


@dataclass(frozen=True)
class Invitation:
    """What the event says, in the patient's language; plain values, no patient data."""

    summary: str
    description: str
    organizer: str  # the clinic's From address, "Name <address>"
    location: str | None = None
    url: str | None = None


def content_type(method: str) -> str:
    """The MIME type a mail client needs to offer "accept" (or to remove the entry)."""
    return f"text/calendar; method={method}; charset=UTF-8"


def method_for(consult: Consult) -> str:
    return CANCEL if consult.status == "cancelled" else REQUEST


def invitation_ics(consult: Consult, invitation: Invitation, *, now: datetime) -> bytes:
    """The .ics for the consult as it now stands: a request, or a cancellation once cancelled."""
    from icalendar import Calendar, Event  # loaded by the worker that mails invitations

    method = method_for(consult)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", consult.uid)
    event.add("sequence", consult.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", consult.starts_at.astimezone(UTC))
    event.add("dtend", consult.ends_at.astimezone(UTC))
    event.add("summary", invitation.summary)
    event.add("description", invitation.description)
    if invitation.location:
        event.add("location", invitation.location)
    if invitation.url:
        event.add("url", invitation.url)
    event.add("organizer", _organizer(invitation.organizer))
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()


def _organizer(from_address: str):
    from icalendar import vCalAddress, vText

    name, address = parseaddr(from_address)
    organizer = vCalAddress(f"mailto:{address}")
    if name:
        organizer.params["cn"] = vText(name)
    return organizer
