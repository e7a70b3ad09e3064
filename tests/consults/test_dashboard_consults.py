"""The dashboard's consult figures: booked in the period, held, missed and cancelled with their
share of those booked, and the median time from inquiry to a held consult."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intake.extensions import db
from intake.models import Consult
from intake.staff.leads import dashboard_views
from tests.consults.factories import make_consult_type
from tests.factories import NOW, make_lead, make_staff
from tests.staff.conftest import page

DAY = timedelta(days=1)


def consult(lead, consult_type, host, *, booked: int, starts: int, status: str) -> Consult:
    """A consult booked ``booked`` days before NOW, starting ``starts`` days from NOW."""
    starts_at = NOW + starts * DAY
    row = Consult(uid=f"c{lead.id}@test", lead_id=lead.id, consult_type_id=consult_type.id,
                  staff_user_id=host.id, starts_at=starts_at, ends_at=starts_at + DAY / 48,
                  status=status, created_at=NOW - booked * DAY)  # fmt: skip
    db.session.add(row)
    return row


@pytest.fixture
def figures(app, monkeypatch):
    """Six consults booked in the last 90 days, one long before."""
    monkeypatch.setattr(dashboard_views, "utcnow", lambda: NOW)
    with app.app_context():
        host = make_staff("clinician")
        kind = make_consult_type(hosts=[host.id])
        # (lead created, booked, starts: days from NOW; status): held 10, 20 and 4 days after
        # the inquiry, so the median is 10 days.
        for created, booked, starts, status in [
            (-20, 15, -10, "done"),
            (-40, 25, -20, "done"),
            (-10, 8, -6, "done"),
            (-12, 10, -2, "no_show"),
            (-9, 9, 5, "cancelled"),
            (-3, 2, 4, "booked"),
            (-300, 200, -190, "done"),  # booked outside the period
        ]:
            lead = make_lead(created_at=NOW + created * DAY, status="consult_scheduled")
            consult(lead, kind, host, booked=booked, starts=starts, status=status)
        db.session.commit()


def test_consults_booked_held_missed_and_cancelled_with_rates_and_the_median_wait(
    app, figures, staff_client
):
    html = page(staff_client("admin").get("/staff/dashboard?days=90"))

    def row(key: str) -> list[str]:
        return [td.get_text(strip=True) for td in html.find(id=f"consults-{key}").find_all("td")]

    assert row("booked") == ["6", "–"]
    assert row("held") == ["3", "50.0 %"]
    assert row("no-show") == ["1", "16.7 %"]
    assert row("cancelled") == ["1", "16.7 %"]
    assert html.find(id="median-to-consult").get_text() == "10 days"


def test_a_longer_period_counts_the_older_consult_too(app, figures, staff_client):
    html = page(staff_client("admin").get("/staff/dashboard?days=365"))

    assert html.find(id="consults-booked").find("td").get_text() == "7"
    assert html.find(id="median-to-consult").get_text() == "15 days"  # (10 + 20) / 2


def test_no_consult_yet_reads_as_such(app, monkeypatch, staff_client):
    monkeypatch.setattr(dashboard_views, "utcnow", lambda: NOW)

    html = page(staff_client("admin").get("/staff/dashboard"))

    assert html.find(id="consults-held").find_all("td")[1].get_text() == "–"
    assert html.find(id="median-to-consult").get_text() == "no consult held yet"
