"""What the admin's teams and routing pages list: teams with their members, the people who can
join a team, and the rules in the order they are tried."""

from __future__ import annotations

from sqlalchemy import select

from intake.extensions import db
from intake.models import RoutingRule, StaffUser, Team, TeamMember


def list_teams() -> list[tuple[Team, list[StaffUser]]]:
    """Every team with its members, in two queries."""
    teams = list(db.session.scalars(select(Team).order_by(Team.name)))
    rows = db.session.execute(
        select(TeamMember.team_id, StaffUser)
        .join(StaffUser, StaffUser.id == TeamMember.staff_user_id)
        .order_by(StaffUser.name)
    )
    members: dict[int, list[StaffUser]] = {}
    for team_id, user in rows:
        members.setdefault(team_id, []).append(user)
    return [(team, members.get(team.id, [])) for team in teams]


def staff_for_teams() -> list[StaffUser]:
    """Active staff accounts, for choosing members and team leads."""
    return list(
        db.session.scalars(
            select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
        )
    )


def member_ids(team_id: int) -> list[int]:
    return list(
        db.session.scalars(select(TeamMember.staff_user_id).where(TeamMember.team_id == team_id))
    )


def list_rules() -> list[tuple[RoutingRule, str]]:
    """Every rule in the order they are tried, with its team's name."""
    return list(
        db.session.execute(
            select(RoutingRule, Team.name)
            .join(Team, Team.id == RoutingRule.team_id)
            .order_by(RoutingRule.priority, RoutingRule.id)
        )
    )
