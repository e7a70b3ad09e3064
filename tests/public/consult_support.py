"""A consult to book from the patient's link: one video consult type held by one host in New
York (weekdays 09:00 to 11:00 on their clock), a lead in Madrid who speaks ``language``, and the
link's token. The clock is NOW (factories), a Tuesday before the US daylight-saving change of
8 March 2026 (Europe changes on 29 March), so the second week's times move by an hour for the
patient in Madrid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from intake.consults.links import invitation_token
from intake.extensions import db
from intake.models import AvailabilityWindow, Consult, ConsultType, ConsultTypeHost
from intake.public import consult_views
from tests.factories import NOW, make_lead, make_staff


@dataclass(frozen=True)
class World:
    lead_id: int
    type_id: int
    host_id: int
    token: str

    @property
    def url(self) -> str:
        return f"/consult/{self.token}"


def at(text: str) -> datetime:
    """A UTC instant written "2026-03-04 14:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_world(app, *, language: str = "en", hours=("09:00", "11:00"), **lead_fields) -> World:
    with app.app_context():
        host = make_staff("coordinator", time_zone="America/New_York")
        kind = ConsultType(name=f"First talk {host.id}", kind="video", duration_minutes=30)
        db.session.add(kind)
        db.session.flush()
        db.session.add(ConsultTypeHost(consult_type_id=kind.id, staff_user_id=host.id))
        for weekday in range(5):
            db.session.add(AvailabilityWindow(staff_user_id=host.id, weekday=weekday,
                                              start_time=hours[0], end_time=hours[1]))  # fmt: skip
        fields = {"time_zone": "Europe/Madrid", "language": language, "status": "contacted"}
        lead = make_lead(**{**fields, **lead_fields})
        token = invitation_token(lead_id=lead.id, consult_type_id=kind.id, now=NOW)
        db.session.commit()
        return World(lead.id, kind.id, host.id, token)


def set_clock(monkeypatch, moment: datetime = NOW) -> None:
    """The booking pages' clock (the app's ``utcnow``, as the views read it)."""
    monkeypatch.setattr(consult_views, "utcnow", lambda: moment)


def consults(app, lead_id: int) -> list[tuple[str, datetime]]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(Consult).where(Consult.lead_id == lead_id).order_by(Consult.id)
        )
        return [(row.status, row.starts_at) for row in rows]


def book_directly(app, world: World, starts_at: datetime, lead_id: int | None = None) -> None:
    """Someone else (staff, for another lead) takes a time, as a clash needs."""
    from intake.consults.booking import book
    from intake.models import Lead

    with app.app_context():
        lead = db.session.get(Lead, lead_id or world.lead_id)
        kind = db.session.get(ConsultType, world.type_id)
        book(lead=lead, consult_type=kind, starts_at=starts_at, booked_by="staff", actor=None,
             now=NOW - timedelta(hours=1))  # fmt: skip
        db.session.commit()


def other_lead(app) -> int:
    """Another patient, who can take a time first."""
    with app.app_context():
        lead = make_lead(email="someone.else@example.org", status="contacted")
        db.session.commit()
        return lead.id


def served(response) -> str:
    return response.get_data(as_text=True)


def booking_pages(app, language: str) -> dict[str, str]:
    """Every state of the booking page as served, for the HTML checker: choosing, a clash, a
    refused choice, booked, moving, asked to cancel, cancelled, past the cut-off, no free
    times, and a link that does not work."""
    from unittest import mock

    from tests.conftest import hidden_fields

    pages: dict[str, str] = {}
    with mock.patch.object(consult_views, "utcnow", lambda: NOW):
        world = make_world(app, language=language)
        client = app.test_client()
        shown = client.get(world.url)
        pages["booking: choose"] = shown.get_data(as_text=True)
        form = hidden_fields(shown)
        pages["booking: refused choice"] = served(client.post(world.url, data=form))
        book_directly(app, world, at("2026-03-04 14:00"), lead_id=other_lead(app))
        clash = client.post(world.url, data={**form, "slot": "2026-03-04T14:00Z"})
        pages["booking: clash"] = served(clash)
        done = client.post(world.url, data={**form, "slot": "2026-03-04T14:30Z"})
        pages["booking: booked"] = served(client.get(done.headers["Location"]))
        pages["booking: choose another"] = served(client.get(f"{world.url}?change=1"))
        pages["booking: later times"] = served(client.get(f"{world.url}?change=1&from=2026-03-13"))
        pages["booking: confirm cancel"] = served(client.get(f"{world.url}/cancel"))
        done = client.post(f"{world.url}/cancel", data=form)
        pages["booking: cancelled"] = served(client.get(done.headers["Location"]))
        pages["booking: invalid link"] = served(client.get("/consult/not-a-token"))
        client.post(world.url, data={**form, "slot": "2026-03-05T14:00Z"})
    with mock.patch.object(consult_views, "utcnow", lambda: at("2026-03-05 03:00")):
        pages["booking: past the cut-off"] = served(client.get(world.url))
        none_free = make_world(app, language=language, hours=("09:00", "09:10"))
        pages["booking: no free times"] = served(client.get(none_free.url))
    return pages
