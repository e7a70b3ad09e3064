"""Fixtures for the consult tests. For the messages: a consult type with a host who keeps
weekly hours, and a lead who may be emailed. For the lead page: a fixed clock, a consult type on
offer, and a coordinator who reads times in Madrid."""

from __future__ import annotations

import pytest

from intake.extensions import db
from intake.models import AvailabilityWindow, ConsultType, ConsultTypeHost, Lead, StaffUser
from intake.staff.leads import consult_views, lead_views
from tests.consults import factories
from tests.factories import NOW, add, make_lead, make_staff

VIDEO_URL = "https://meet.example/room-7"
ADDRESS = "12 Harbour Street, Springfield"


@pytest.fixture
def consult_app(app_factory):
    app = app_factory()
    with app.app_context():
        yield app


def make_consult_type(
    *, kind: str = "video", host_zone: str = "America/New_York", host_name: str = "Maria Lopez"
) -> tuple[ConsultType, StaffUser]:
    """A 30-minute consult type and its one host, who works 08:00-18:00 every day in their zone."""
    host = make_staff(name=host_name, time_zone=host_zone)
    for weekday in range(7):
        db.session.add(
            AvailabilityWindow(
                staff_user_id=host.id, weekday=weekday, start_time="08:00", end_time="18:00"
            )
        )
    kind_row = add(
        ConsultType(
            name=f"{kind} consult with host {host.id}",
            kind=kind,
            duration_minutes=30,
            video_url=VIDEO_URL if kind == "video" else None,
            location=ADDRESS if kind == "in_person" else None,
        )
    )
    db.session.add(ConsultTypeHost(consult_type_id=kind_row.id, staff_user_id=host.id))
    db.session.flush()
    return kind_row, host


def consult_lead(**fields) -> Lead:
    """Ada Byron, who agreed to email, at the screening stage."""
    return make_lead(**{"status": "screening", **fields})


@pytest.fixture
def clock(monkeypatch):
    """The page and the actions at ``clock.now`` (NOW unless a test moves it)."""

    class Clock:
        now = NOW

    monkeypatch.setattr(lead_views, "utcnow", lambda: Clock.now)
    monkeypatch.setattr(consult_views, "utcnow", lambda: Clock.now)
    return Clock


@pytest.fixture
def offered(app, make_staff):
    """A consult type held by Dr Rivera (New York); returns (type id, host id)."""
    host = make_staff("clinician", name="Dr Rivera", time_zone="America/New_York")
    with app.app_context():
        consult_type = factories.make_consult_type(hosts=[host], name="Video consult")
        db.session.commit()
        return consult_type.id, host


@pytest.fixture
def madrid(staff_client):
    """A coordinator who reads times in Madrid (CET: New York + 6 hours in March)."""
    return staff_client("coordinator", time_zone="Europe/Madrid")
