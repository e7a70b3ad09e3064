"""The rows routing reads: active rules, a team's members, open-lead counts, active staff."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, exists, func, not_, select

from intake.extensions import db
from intake.models import CLOSED, Lead, RoutingRule, StaffToken, StaffUser, TeamMember


def active_rules() -> list[RoutingRule]:
    """The active routing rules, in the order they are tried."""
    return list(
        db.session.scalars(
            select(RoutingRule)
            .where(RoutingRule.active.is_(True))
            .order_by(RoutingRule.priority, RoutingRule.id)
        )
    )


def team_members(team_id: int) -> list[StaffUser]:
    """The team's members, less anyone invited who has not yet signed in (they could not
    open the lead they were given)."""
    invited = select(StaffToken.id).where(
        StaffToken.user_id == StaffUser.id, StaffToken.purpose == "invitation"
    )
    not_yet_in = and_(StaffUser.last_sign_in_at.is_(None), exists(invited))
    return list(
        db.session.scalars(
            select(StaffUser)
            .join(TeamMember, TeamMember.staff_user_id == StaffUser.id)
            .where(TeamMember.team_id == team_id, not_(not_yet_in))
            .order_by(StaffUser.id)
            .execution_options(populate_existing=True)
        )
    )


def open_lead_counts(staff_ids: Collection[int], *, other_than: int | None = None) -> dict:
    """How many open (not closed) leads each of these staff members owns."""
    if not staff_ids:
        return {}
    query = (
        select(Lead.owner_id, func.count())
        .where(Lead.owner_id.in_(staff_ids), Lead.status.not_in(CLOSED))
        .group_by(Lead.owner_id)
    )
    if other_than is not None:
        query = query.where(Lead.id != other_than)
    return {owner: total for owner, total in db.session.execute(query)}


def active_staff_ids(role: str) -> list[int]:
    """The active staff with this role, lowest id first (admins get alerts nobody else takes)."""
    return list(
        db.session.scalars(
            select(StaffUser.id)
            .where(StaffUser.role == role, StaffUser.active.is_(True))
            .order_by(StaffUser.id)
        )
    )
