"""Routing: which team and which person gets a lead, and a stored reason why.

Rules are tried in ascending priority (then id) on a few lead fields. The first matching rule
whose team has somebody available wins. When a matching team has nobody available (inactive,
out of office, off shift or at capacity), the next matching rule is tried, so a catch-all rule
is a fallback, not a dead end; the stored reason names the rules passed over. No match, or
nobody anywhere, leaves the lead unassigned and alerts every active admin.

Concurrency: the lead row is locked first, then the candidate team row (PostgreSQL
``FOR UPDATE``), so routers serialise on a team's round-robin cursor and open-lead counts.
A team found to have nobody available is locked inside a savepoint that is rolled back at
once, which releases it: a router holds at most one team it did not choose, so routers never
deadlock on teams matched in different orders. On SQLite the lead is first "touched" by an
UPDATE: that opens the write transaction and takes the database's one write lock before
anything is read, so no other writer can interleave with the read-modify-write.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, exists, func, not_, select, update

from intake.extensions import db, dialect_insert
from intake.models import (
    CLOSED,
    Lead,
    RoutingDecision,
    RoutingRule,
    StaffToken,
    StaffUser,
    Team,
    TeamMember,
)
from intake.services.business_hours import BusinessCalendar, add_business_hours
from intake.services.routing_choice import (
    REASON_LENGTH,
    Choice,
    choose_member,
    matching_rules,
    reason_for,
)
from intake.services.sends import schedule_send, send_key

logger = logging.getLogger(__name__)

DEFAULT_TEAM = "Patient coordinators"
DEFAULT_RULE = "Everyone"
NO_MATCH = "no rule matched"
NOBODY_AVAILABLE = "no available member in any matching team"


class LeadNotFound(LookupError):
    """The lead to route does not exist (erased or merged away)."""


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _lock_lead(lead_id: int) -> Lead:
    """The lead, locked for this transaction and freshly read."""
    if not _is_postgresql():
        # Opens SQLite's write transaction before any read (keeps updated_at as it was).
        db.session.execute(
            update(Lead)
            .where(Lead.id == lead_id)
            .values(updated_at=Lead.updated_at)
            .execution_options(synchronize_session=False)
        )
    lead = db.session.scalar(
        select(Lead)
        .where(Lead.id == lead_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if lead is None:
        raise LeadNotFound(f"lead {lead_id} does not exist")
    return lead


def _active_rules() -> list[RoutingRule]:
    return list(
        db.session.scalars(
            select(RoutingRule)
            .where(RoutingRule.active.is_(True))
            .order_by(RoutingRule.priority, RoutingRule.id)
        )
    )


def _members(team_id: int) -> list[StaffUser]:
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


def _try_team(lead: Lead, rule: RoutingRule, *, now: datetime, exclude) -> Choice | None:
    """Lock the rule's team and pick a member; release the team again if nobody fits."""
    savepoint = db.session.begin_nested() if _is_postgresql() else None
    team = db.session.scalar(
        select(Team)
        .where(Team.id == rule.team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    member, counts = None, {}
    if team is not None:
        members = _members(team.id)
        counts = open_lead_counts([member.id for member in members], other_than=lead.id)
        member = choose_member(
            team=team, members=members, lead_counts=counts, now=now, exclude=exclude
        )
    if savepoint is not None and member is None:
        savepoint.rollback()  # lets the team go at once
    elif savepoint is not None:
        savepoint.commit()  # a released savepoint keeps the lock until the caller commits
    if member is None:
        return None
    return Choice(rule=rule, team=team, member=member, open_leads=counts.get(member.id, 0))


def _pick(lead: Lead, rules: Sequence[RoutingRule], *, now: datetime, exclude) -> Choice | None:
    """The first matching rule's team with somebody available, trying each team once."""
    passed_over: list[str] = []
    tried: set[int] = set()
    for rule in rules:
        choice = None
        if rule.team_id not in tried:
            tried.add(rule.team_id)
            choice = _try_team(lead, rule, now=now, exclude=exclude)
        if choice is not None:
            return replace(choice, passed_over=tuple(passed_over))
        passed_over.append(rule.name)
    return None


def _record(lead: Lead, *, reason: str, now: datetime, choice: Choice | None = None):
    decision = RoutingDecision(
        lead_id=lead.id,
        rule_id=choice.rule.id if choice else None,
        team_id=choice.team.id if choice else None,
        staff_user_id=choice.member.id if choice else None,
        reason=reason[:REASON_LENGTH],
        decided_at=now,
    )
    db.session.add(decision)
    db.session.flush()
    return decision


def _unrecorded(lead: Lead, *, reason: str, now: datetime) -> RoutingDecision:
    """A decision returned to the caller but never stored: nothing was decided."""
    return RoutingDecision(
        lead_id=lead.id,
        team_id=lead.team_id,
        staff_user_id=lead.owner_id,
        reason=reason,
        decided_at=now,
    )


def _assign(lead: Lead, choice: Choice, *, now: datetime) -> RoutingDecision:
    """Give the lead to the chosen member, start the SLA clock and notify them."""
    config = current_app.config
    lead.owner_id = choice.member.id
    lead.team_id = choice.team.id
    lead.assigned_at = now
    lead.sla_due_at = add_business_hours(
        BusinessCalendar.from_config(config), now, config["INTAKE_SLA_HOURS"]
    )
    lead.sla_reminded_at = None
    lead.sla_breached_at = None
    choice.team.last_assigned_id = choice.member.id
    decision = _record(lead, reason=reason_for(choice), now=now, choice=choice)
    schedule_send(
        key=send_key(lead.id, "staff_new_lead", decision.id),
        cadence="staff_new_lead",
        template="staff_new_lead",
        due_at=now,
        staff_user_id=choice.member.id,
        lead_id=lead.id,
        now=now,
    )
    logger.info("lead %s routed to staff %s (decision %s)", lead.id, lead.owner_id, decision.id)
    return decision


def _leave_unassigned(lead: Lead, *, reason: str, now: datetime) -> RoutingDecision:
    """Record why nobody got the lead and alert each active admin."""
    decision = _record(lead, reason=reason, now=now)
    for admin_id in active_staff_ids("admin"):
        schedule_send(  # one alert per lead per admin per day, however often routing retries
            key=send_key(lead.id, "admin_alert", now.date().isoformat(), admin_id),
            cadence="admin_alert",
            template="admin_alert",
            due_at=now,
            staff_user_id=admin_id,
            lead_id=lead.id,
            now=now,
        )
    logger.warning("lead %s not routed: %s (decision %s)", lead.id, reason, decision.id)
    return decision


def route_lead(
    *, lead_id: int, now: datetime, exclude_staff_ids: Collection[int] = ()
) -> RoutingDecision:
    """Give a lead an owner by the routing rules, store why, and notify them (or the admins).

    An owned lead is left alone unless ``exclude_staff_ids`` asks for a reassignment; the
    decision returned then is not stored. A reassignment that finds nobody keeps the current
    owner (a lead is never taken from someone without being given to someone else)."""
    lead = _lock_lead(lead_id)
    exclude = frozenset(exclude_staff_ids)
    if lead.owner_id is not None and not exclude:
        return _unrecorded(lead, reason="already assigned; nothing changed", now=now)
    if lead.status in CLOSED:
        return _unrecorded(lead, reason=f"lead is closed ({lead.status}); not routed", now=now)
    rules = matching_rules(_active_rules(), lead)
    choice = _pick(lead, rules, now=now, exclude=exclude)
    if choice is None:
        return _leave_unassigned(lead, reason=NOBODY_AVAILABLE if rules else NO_MATCH, now=now)
    return _assign(lead, choice, now=now)


def _current_priority(lead: Lead) -> float | None:
    """The priority of the rule behind the current owner; None when assigned by hand."""
    if lead.owner_id is None:
        return math.inf
    return db.session.scalar(
        select(RoutingRule.priority)
        .join(RoutingDecision, RoutingDecision.rule_id == RoutingRule.id)
        .where(RoutingDecision.lead_id == lead.id)
        .where(RoutingDecision.staff_user_id == lead.owner_id)
        .order_by(RoutingDecision.id.desc())
        .limit(1)
    )


def reroute_if_better(*, lead_id: int, now: datetime) -> RoutingDecision | None:
    """Once the inquiry is complete, move the lead if a higher-priority rule now matches.

    Only strictly better rules (lower priority numbers) are tried; if none of their teams has
    anybody available the lead stays where it is and nothing is stored. Closed, already
    contacted and hand-assigned leads are never moved."""
    lead = _lock_lead(lead_id)
    if lead.status in CLOSED or lead.first_contacted_at is not None:
        return None
    ceiling = _current_priority(lead)
    if ceiling is None:
        return None
    better = [rule for rule in matching_rules(_active_rules(), lead) if rule.priority < ceiling]
    choice = _pick(lead, better, now=now, exclude=frozenset())
    return _assign(lead, choice, now=now) if choice is not None else None


def ensure_default_routing(*, now: datetime) -> None:
    """On first use, create a round-robin team of coordinators and a catch-all rule for it."""
    if db.session.scalar(select(Team.id).limit(1)) is not None:
        return
    insert = dialect_insert()
    team_id = db.session.scalar(
        insert(Team)
        .values(name=DEFAULT_TEAM, strategy="round_robin", created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Team.id)
    )
    if team_id is None:
        return  # another process created it first
    members = active_staff_ids("coordinator") or active_staff_ids("admin")
    db.session.add_all(TeamMember(team_id=team_id, staff_user_id=staff) for staff in members)
    db.session.add(RoutingRule(name=DEFAULT_RULE, priority=1000, team_id=team_id, conditions={}))
    db.session.flush()


def route_unrouted(*, now: datetime, limit: int = 200) -> int:
    """Route open leads that no routing ever ran for (their task was lost with the broker)."""
    never_routed = ~db.select(RoutingDecision.id).where(RoutingDecision.lead_id == Lead.id).exists()
    lead_ids = db.session.scalars(
        db.select(Lead.id)
        .where(Lead.owner_id.is_(None), Lead.status.not_in(CLOSED), never_routed)
        .order_by(Lead.id)
        .limit(limit)
    ).all()
    for lead_id in lead_ids:
        route_lead(lead_id=lead_id, now=now)
    return len(lead_ids)
