"""S-scope at night: a lead routed while nobody is working has its team at once, so staff of
another team get 404 on it and never see it in any queue view; its own team does."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import Lead, RoutingRule, Team
from intake.routing.service import route_lead
from tests.conftest import page
from tests.factories import make_lead
from tests.staff.leads.conftest import shown_ids

FRIDAY_NIGHT = datetime(2024, 5, 17, 21, 15, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
VIEWS = ("mine", "team", "all", "review", "unassigned")


@pytest.fixture
def night_lead(app, make_staff):
    """West's rule routes a Friday-night lead; returns a function taking West's off-hours
    setting and giving (lead id, West's owner-to-be, an East coordinator, an East clinician)."""

    def build(off_hours: str):
        west = make_staff("coordinator", team="West")
        east = make_staff("coordinator", team="East")
        clinician = make_staff("clinician", team="East")
        with app.app_context():
            team = db.session.scalar(select(Team).where(Team.name == "West"))
            team.off_hours = off_hours
            db.session.add(RoutingRule(name="West", priority=10, team_id=team.id, conditions={}))
            lead = make_lead(consents=(), eligibility_outcome="needs_review")
            db.session.commit()
            route_lead(lead_id=lead.id, now=FRIDAY_NIGHT)
            db.session.commit()
            lead = db.session.get(Lead, lead.id)
            assert lead.team_id == team.id and lead.sla_due_at is not None
            assert lead.owner_id == (west if off_hours == "next_on_shift" else None)
            return lead.id, west, east, clinician

    return build


@pytest.mark.parametrize("off_hours", ["next_on_shift", "hold"])
def test_another_team_gets_404_on_a_night_lead_and_never_sees_it_in_a_queue(
    app, sign_in, night_lead, off_hours
):
    lead_id, west, east, clinician = night_lead(off_hours)

    for outsider in (east, clinician):
        client = sign_in(app.test_client(), outsider)
        assert client.get(f"/staff/leads/{lead_id}").status_code == 404
        for view in VIEWS:
            assert lead_id not in shown_ids(client.get(f"/staff/?view={view}")), view

    own_team = sign_in(app.test_client(), west)
    shown = own_team.get(f"/staff/leads/{lead_id}")
    assert shown.status_code == 200
    facts = " ".join(page(shown).find("dl", class_="lead-facts").get_text(" ").split())
    owner = "None yet: held for the team" if off_hours == "hold" else "Coordinator"
    assert f"Owner {owner}" in facts and "Team West" in facts
    assert "First contact due" in facts and "11:00" in facts  # Monday, 2 business hours in
    assert lead_id in shown_ids(own_team.get("/staff/?view=team"))
