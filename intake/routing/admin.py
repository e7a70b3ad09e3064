"""Administering teams and routing rules. The forms check shape; the rules that need the
database (names unique, the chosen people and team exist) are checked here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.models import OFF_HOURS, STRATEGIES, RoutingRule, StaffUser, Team, TeamMember
from intake.routing.choice import ROUTABLE_FIELDS


class AdminInputError(ValueError):
    """The input breaks a rule the form cannot check; ``field`` names the form field, and the
    message (staff text) is translated when it is shown."""

    def __init__(self, field: str, message: str | LazyText) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TeamData:
    name: str
    strategy: str
    lead_staff_id: int | None
    member_ids: tuple[int, ...]
    off_hours: str = "next_on_shift"


@dataclass(frozen=True)
class RuleData:
    name: str
    priority: int
    team_id: int
    conditions: dict[str, list[str]]
    active: bool


def _name_taken(model, name: str, own_id: int | None) -> bool:
    query = select(model.id).where(model.name == name)
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db.session.scalar(query.limit(1)) is not None


def save_team(*, team: Team | None, data: TeamData) -> Team:
    """Create or update a team and set its members exactly."""
    if data.strategy not in STRATEGIES:
        raise AdminInputError("strategy", _l("Choose round robin or least loaded."))
    if data.off_hours not in OFF_HOURS:
        raise AdminInputError("off_hours", _l("Choose what happens outside members' hours."))
    if _name_taken(Team, data.name, team.id if team else None):
        raise AdminInputError("name", _l("Another team already has this name."))
    _check_staff(data)
    if team is None:
        team = Team(name=data.name)
        db.session.add(team)
    team.name, team.strategy, team.lead_staff_id = data.name, data.strategy, data.lead_staff_id
    team.off_hours = data.off_hours
    db.session.flush()
    db.session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    db.session.add_all(
        TeamMember(team_id=team.id, staff_user_id=user_id)
        for user_id in sorted(set(data.member_ids))
    )
    db.session.flush()
    return team


def _check_staff(data: TeamData) -> None:
    wanted = set(data.member_ids) | ({data.lead_staff_id} if data.lead_staff_id else set())
    if not wanted:
        return
    found = set(db.session.scalars(select(StaffUser.id).where(StaffUser.id.in_(wanted))))
    if data.lead_staff_id and data.lead_staff_id not in found:
        raise AdminInputError("lead_staff_id", _l("Choose a member of staff from the list."))
    if wanted - found:
        raise AdminInputError("member_ids", _l("Choose members of staff from the list."))


def save_rule(*, rule: RoutingRule | None, data: RuleData) -> RoutingRule:
    """Create or update a routing rule."""
    if _name_taken(RoutingRule, data.name, rule.id if rule else None):
        raise AdminInputError("name", _l("Another rule already has this name."))
    if db.session.get(Team, data.team_id) is None:
        raise AdminInputError("team_id", _l("Choose a team from the list."))
    unknown = set(data.conditions) - set(ROUTABLE_FIELDS)
    if unknown:
        unknown_field = sorted(unknown)[0]
        raise AdminInputError("name", _l("Unknown condition field %(field)s.", field=unknown_field))
    if rule is None:
        rule = RoutingRule(name=data.name)
        db.session.add(rule)
    rule.name, rule.priority, rule.team_id = data.name, data.priority, data.team_id
    rule.conditions = {field: list(values) for field, values in data.conditions.items() if values}
    rule.active = data.active
    db.session.flush()
    return rule
