"""``intake serve --demo``: a believable month, made through the real services, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from intake.demo.seed import add_demo_leads
from intake.extensions import db
from intake.models import (
    Consult,
    EligibilityResult,
    Inquiry,
    Lead,
    LeadEvent,
    OutboxEvent,
    RoutingDecision,
    Send,
)

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # a Wednesday, 10:30 in New York


def count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def test_the_demo_seeds_a_month_spread_over_days_hours_sources_statuses_and_owners_once(app):
    with app.app_context():
        assert add_demo_leads(now=NOW, count=60) == 60
        db.session.commit()
        leads = list(db.session.scalars(select(Lead)))

        assert len(leads) == 60
        assert len({lead.created_at.date() for lead in leads}) >= 15
        assert len({lead.created_at.hour for lead in leads}) >= 10
        assert min(lead.created_at for lead in leads) < NOW.replace(day=1)
        assert len({lead.source for lead in leads}) >= 4
        assert len({lead.status for lead in leads}) >= 6
        assert len({lead.owner_id for lead in leads}) >= 3
        assert sum(lead.language == "es" for lead in leads) == 12  # one in five, in Spanish
        outcomes = {lead.eligibility_outcome for lead in leads}
        assert {"no_exclusion_found", "needs_review"} <= outcomes
        # Routed like real leads: a team and a deadline each, with the decisions behind them.
        assert all(lead.team_id and lead.sla_due_at for lead in leads)
        assert count(select(RoutingDecision.id)) >= 60
        assert count(select(EligibilityResult.id)) == count(
            select(Inquiry.id).where(Inquiry.status == "complete")
        )
        assert count(select(LeadEvent.id).where(LeadEvent.kind == "call")) >= 30
        # Consults booked in free slots through the booking service: held ones and coming ones.
        consults = list(db.session.scalars(select(Consult)))
        assert {"done", "booked"} <= {consult.status for consult in consults}
        # Each one over by now has its outcome; only the last hour's may still be open.
        assert all(c.status != "booked" or c.starts_at > NOW - timedelta(hours=1) for c in consults)
        held = {c.lead_id for c in consults if c.status == "done"}
        assert all(lead.status != "consult_scheduled" for lead in leads if lead.id in held)
        # History, not a backlog: nothing dated after now, nothing left for the relay.
        assert max(event.at for event in db.session.scalars(select(LeadEvent))) <= NOW
        assert count(select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None))) == 0
        assert count(select(Send.id).where(Send.status == "scheduled", Send.due_at <= NOW)) == 0

        assert add_demo_leads(now=NOW, count=60) == 0  # a second run adds nothing
        db.session.commit()
        assert count(select(Lead.id)) == 60
