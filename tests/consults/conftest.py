"""Fixtures for the consult tests: a fixed clock for the lead page, a consult type on offer,
and a coordinator who reads times in Madrid."""

from __future__ import annotations

import pytest

from intake.extensions import db
from intake.staff.leads import consult_views, lead_views
from tests.consults.factories import make_consult_type
from tests.factories import NOW


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
        consult_type = make_consult_type(hosts=[host], name="Video consult")
        db.session.commit()
        return consult_type.id, host


@pytest.fixture
def madrid(staff_client):
    """A coordinator who reads times in Madrid (CET: New York + 6 hours in March)."""
    return staff_client("coordinator", time_zone="Europe/Madrid")
