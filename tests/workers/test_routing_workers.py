"""Routing under concurrency, through real Celery worker processes: 4 processes route 400
leads round robin across 4 available staff, exactly 100 each; unavailable staff get none."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert

from intake.extensions import db
from intake.models import Lead, RoutingRule, StaffUser, Team, TeamMember
from intake.models.types import utcnow
from tests.factories import make_staff
from tests.live import wait_until
from tests.workers.conftest import ALWAYS

pytestmark = pytest.mark.timeout(240)


def seed(app) -> dict[str, int]:
    """Six coordinators in one round-robin team: four available, one inactive, one away."""
    now = utcnow()
    with app.app_context():
        staff = {}
        for name in ("ann", "ben", "cat", "dan", "eve", "fay"):
            # room for a hundred each, so capacity is not what limits
            staff[name] = make_staff(
                name=name, email=f"{name}@clinic.example", working_hours=ALWAYS, capacity=150
            )
        staff["eve"].active = False
        staff["fay"].out_of_office_until = now + timedelta(days=7)
        team = Team(name="Coordinators", strategy="round_robin", created_at=now)
        db.session.add(team)
        db.session.flush()
        db.session.add_all(TeamMember(team_id=team.id, staff_user_id=u.id) for u in staff.values())
        db.session.add(
            RoutingRule(name="Everyone", priority=1, team_id=team.id, conditions={}, active=True)
        )
        db.session.execute(
            insert(Lead),
            [
                {
                    "filled_by": "self",
                    "first_name": "Test",
                    "last_name": f"Lead {n}",
                    "country": "US",
                    "time_zone": "UTC",
                    "time_zone_source": "clinic",
                    "status": "new",
                    "incomplete": False,
                    "created_at": now,
                    "updated_at": now,
                    "last_inquiry_at": now,
                }
                for n in range(400)
            ],
        )
        db.session.commit()
        return {name: user.id for name, user in staff.items()}


def test_four_worker_processes_route_400_leads_exactly_100_each(worker_app, start_worker):
    staff = seed(worker_app)
    with worker_app.app_context():
        lead_ids = db.session.scalars(db.select(Lead.id)).all()
    celery = worker_app.extensions["celery"]
    for lead_id in lead_ids:
        celery.send_task(
            "routing.route_lead", kwargs={"lead_id": lead_id, "trigger": "inquiry.started"}
        )
    start_worker(concurrency=4)

    def routed() -> int:
        with worker_app.app_context():
            return db.session.scalar(
                db.select(func.count(Lead.id)).where(Lead.owner_id.is_not(None))
            )

    wait_until(lambda: routed() == 400, timeout=180)
    with worker_app.app_context():
        owners = Counter(db.session.scalars(db.select(Lead.owner_id)))
        names = {user.id: user.name for user in db.session.scalars(db.select(StaffUser))}
    assert {names[owner]: count for owner, count in owners.items()} == {
        "ann": 100,
        "ben": 100,
        "cat": 100,
        "dan": 100,
    }
    assert staff["eve"] not in owners and staff["fay"] not in owners
