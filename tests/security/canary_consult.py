"""S-canary's consult: staff book the canary patient a video consult through the booking
service; the worker emails the confirmation (with its calendar invitation); the patient opens the
link in it on the live server, moves the consult to another time and then cancels it, and the
worker sends the update and the cancellation (each with its invitation) and tells the host of
each change. On the way, the host's private calendar feed is fetched (at its secret address, on
the live server) and the staff calendar pages are loaded. What each step leaves is searched by
test_canary.py: the invitations and the feed as well as the logs, Redis and the staff's mail, and
the logs for the booking link's token and the feed's secret, which must be masked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from intake import jobs
from intake.consults import booking
from intake.consults.feeds import create_feed
from intake.extensions import db
from intake.messaging.staff_subjects import STAFF_SUBJECTS
from intake.models import AvailabilityWindow, ConsultType, ConsultTypeHost, Lead, StaffUser
from intake.models.types import utcnow
from intake.public.consult_page import slot_value
from tests.conftest import hidden_fields, page
from tests.live import LiveClient
from tests.security.canary import CONTACT
from tests.workers.conftest import publish

NOTICE = STAFF_SUBJECTS["staff_consult"]
SUBJECTS = {
    "confirmation": "Your consultation is booked",
    "update": "Your consultation has a new time",
    "cancellation": "Your consultation is cancelled",
}
_LINK = re.compile(r"https?://\S+/consult/[^\s?]+\?lang=\w+")


@dataclass
class ConsultTrail:
    """What the consult left to be searched, and the secrets no log may hold."""

    invitations: list[bytes] = field(default_factory=list)  # every .ics sent to the patient
    feed: bytes = b""
    secrets: list[str] = field(default_factory=list)  # the booking token, the feed's secret
    error_pages: dict[str, bytes] = field(default_factory=dict)
    staff_pages: int = 0


def _host_and_type(app, staff_address: str) -> tuple[int, int]:
    """A 30-minute video consult held by the staff member at ``staff_address``, free all day
    every day in UTC (whatever the hour the test runs at)."""
    with app.app_context():
        host = db.session.scalars(
            db.select(StaffUser).where(StaffUser.email == staff_address)
        ).one()
        host.time_zone = "UTC"
        kind = ConsultType(name="First talk", kind="video", duration_minutes=30,
                           video_url="https://meet.example/room")  # fmt: skip
        db.session.add(kind)
        db.session.flush()
        db.session.add(ConsultTypeHost(consult_type_id=kind.id, staff_user_id=host.id))
        for weekday in range(7):
            db.session.add(AvailabilityWindow(staff_user_id=host.id, weekday=weekday,
                                              start_time="00:00", end_time="23:59"))  # fmt: skip
        db.session.commit()
        return host.id, kind.id


def _staff_book(app, lead_id: int, type_id: int, host_id: int, actor_id: int) -> datetime:
    """Staff book the first free time a day and an hour ahead: past the change cut-off, and its
    first reminder not yet due."""
    with app.app_context():
        now = utcnow()
        kind = db.session.get(ConsultType, type_id)
        [first, *_] = booking.next_free(kind, after=now + timedelta(days=1, hours=1), now=now)
        booking.book(lead=db.session.get(Lead, lead_id), consult_type=kind,
                     starts_at=first.starts_at, booked_by="staff",
                     actor=db.session.get(StaffUser, actor_id), now=now,
                     staff_user_id=host_id)  # fmt: skip
        db.session.commit()
        return first.starts_at


def _patient_mail(sink, subject: str):
    [message] = sink.wait_for(lambda m: m["To"] == CONTACT["email"] and m["Subject"] == subject)
    return message


def _invitation(message) -> bytes:
    [ics] = [part.get_content() for part in message.iter_attachments()
             if part.get_content_type() == "text/calendar"]  # fmt: skip
    return ics if isinstance(ics, bytes) else ics.encode()


def _move(patient: LiveClient, path: str, booked: datetime) -> None:
    """From the link: see the booking, ask for another time, choose the first other one."""
    assert patient.get(path).status_code == 200
    shown = patient.get(f"{path}&change=1")
    assert shown.status_code == 200, shown.status_code
    others = [radio["value"] for radio in page(shown).find_all("input", {"name": "slot"})
              if radio["value"] != slot_value(booked)]  # fmt: skip
    url = path.split("?")[0]
    moved = patient.post(url, [*hidden_fields(shown).items(), ("slot", others[0])])
    assert moved.status_code == 303, moved.status_code


def _cancel(patient: LiveClient, path: str) -> None:
    url = path.split("?")[0] + "/cancel"
    asked = patient.get(url)
    assert asked.status_code == 200, asked.status_code
    cancelled = patient.post(url, list(hidden_fields(asked).items()))
    assert cancelled.status_code == 303, cancelled.status_code
    assert patient.get(cancelled.headers["Location"]).status_code == 200


def _feed(app, base_url: str, host_id: int, trail: ConsultTrail) -> None:
    with app.app_context():
        secret = create_feed(staff_user_id=host_id, now=utcnow())
        db.session.commit()
    trail.secrets.append(secret)
    fetched = LiveClient(base_url).get(f"/staff/calendar/feed/{secret}.ics")
    assert fetched.status_code == 200 and b"BEGIN:VEVENT" in fetched.body, fetched.status_code
    trail.feed = fetched.body
    missing = LiveClient(base_url).get(f"/staff/calendar/feed/{secret[::-1]}x.ics")
    trail.error_pages["feed 404"] = missing.body


def _calendar_pages(admin, host_id: int, day: str) -> int:
    """The day and week pages showing the host's consult (staff see the patient's name)."""
    urls = (f"/staff/calendar?day={day}&staff={host_id}",
            f"/staff/calendar/week?week={day}&staff={host_id}")  # fmt: skip
    for url in urls:
        shown = admin.get(url)
        assert shown.status_code == 200, (url, shown.status_code)
    return len(urls)


def consult(app, base_url: str, admin, admin_id: int, lead_id: int, sink, staff_address: str):
    """Book (staff), move and cancel (the patient, from the link), with the feed and the
    calendar pages on the way; returns the trail to search."""
    trail = ConsultTrail()
    host_id, type_id = _host_and_type(app, staff_address)
    booked = _staff_book(app, lead_id, type_id, host_id, admin_id)
    publish(app, jobs.SWEEP_SENDS)  # a staff booking is sent by the next sweep
    confirmation = _patient_mail(sink, SUBJECTS["confirmation"])
    link = _LINK.search(confirmation.get_body(("plain",)).get_content()).group()
    trail.secrets.append(urlsplit(link).path.rsplit("/", 1)[-1])
    path = f"{urlsplit(link).path}?{urlsplit(link).query}"
    patient = LiveClient(base_url)
    _move(patient, path, booked)
    update = _patient_mail(sink, SUBJECTS["update"])
    sink.wait_for(lambda m: m["Subject"] == NOTICE)  # to the lead's owner (else the host)
    _feed(app, base_url, host_id, trail)
    trail.staff_pages = _calendar_pages(admin, host_id, booked.date().isoformat())
    _cancel(patient, path)
    cancellation = _patient_mail(sink, SUBJECTS["cancellation"])
    sink.wait_for(lambda _: len([n for n in sink.messages if n["Subject"] == NOTICE]) == 2)
    trail.invitations = [_invitation(m) for m in (confirmation, update, cancellation)]
    trail.error_pages["consult 410"] = patient.get("/consult/not-a-token").body
    return trail
