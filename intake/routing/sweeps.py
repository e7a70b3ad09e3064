"""Periodic routing: leads whose routing never ran, and leads a team holds until hours start.

Beat may run a sweep twice at once. Held leads are claimed with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two sweeps split them; each is then given out by ``route_lead``, which locks
the lead and reads it afresh, so a lead already given an owner is left alone. The sweep
locks every team in id order before giving leads out, as the SLA sweep does, so sweeps never
deadlock on teams taken in different orders. Work grows with the held leads of teams that
have somebody working now, not with the table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from intake.extensions import db
from intake.models import CLOSED, Lead, RoutingDecision, Team
from intake.routing.choice import choose_member
from intake.routing.rows import open_lead_counts, team_members
from intake.routing.service import route_lead


def route_unrouted(*, now: datetime, limit: int = 200) -> int:
    """Route open leads that no routing ever ran for (their task was lost with the broker)."""
    never_routed = ~select(RoutingDecision.id).where(RoutingDecision.lead_id == Lead.id).exists()
    lead_ids = db.session.scalars(
        select(Lead.id)
        .where(Lead.owner_id.is_(None), Lead.status.not_in(CLOSED), never_routed)
        .order_by(Lead.id)
        .limit(limit)
    ).all()
    for lead_id in lead_ids:
        route_lead(lead_id=lead_id, now=now)
    return len(lead_ids)


def _held() -> tuple:
    """Open leads with a team and no owner: held for the team."""
    return (Lead.team_id.is_not(None), Lead.owner_id.is_(None), Lead.status.not_in(CLOSED))


def _teams_with_someone_working(now: datetime) -> list[int]:
    """The teams holding leads that have a member working now (read without locks)."""
    holding = db.session.scalars(select(Lead.team_id).where(*_held()).distinct()).all()
    working = []
    for team in db.session.scalars(select(Team).where(Team.id.in_(holding)).order_by(Team.id)):
        members = team_members(team.id)
        counts = open_lead_counts([member.id for member in members])
        if choose_member(team=team, members=members, lead_counts=counts, now=now) is not None:
            working.append(team.id)
    return working


def assign_held_leads(*, now: datetime, limit: int = 200) -> int:
    """Give each held lead to a member of its team whose hours have started, soonest deadline
    first; returns how many found an owner. Safe to run twice at once; the caller commits."""
    team_ids = _teams_with_someone_working(now)
    if not team_ids:
        return 0
    query = (
        select(Lead.id)
        .where(*_held(), Lead.team_id.in_(team_ids))
        .order_by(Lead.sla_due_at, Lead.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    lead_ids = db.session.scalars(query).all()
    if lead_ids:
        db.session.execute(select(Team.id).order_by(Team.id).with_for_update()).all()
    given = 0
    for lead_id in lead_ids:
        given += route_lead(lead_id=lead_id, now=now).id is not None
    return given
