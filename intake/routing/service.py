"""Routing: which team and which person gets a lead, and a stored reason why.

Rules are tried in ascending priority (then id) on a few lead fields. The first matching rule
whose team has somebody working now wins; a matching team with nobody working now (inactive,
out of office, off shift or at capacity) passes the lead to the next matching rule, so a
catch-all rule with a night shift is a fallback, not a dead end. When nobody in any matching
team is working now (nights, weekends), the first matching team that has anybody who could
take it keeps the lead: by the team's ``off_hours`` setting it goes to the member whose hours
start next, or the team holds it with no owner until a member's hours start (the periodic
``assign_held_leads`` sweep then gives it out). A team with no member who could ever take it
(all inactive, full or never signed in) still gets the lead, so its scope holds, and the
admins are alerted. Only a lead that matches no rule has no team. Every routed lead gets a
first-contact deadline counted in the clinic's business hours from now (from the next opening
outside hours), so a lead is never without a deadline.

Concurrency: the lead row is locked first, then the candidate team row (PostgreSQL
``FOR UPDATE``), so routers serialise on a team's round-robin cursor and open-lead counts.
A team not chosen is locked inside a savepoint that is rolled back at once, which releases
it: a router holds at most one team it did not choose, so routers never deadlock on teams
matched in different orders. On SQLite the lead is first "touched" by an UPDATE: that opens
the write transaction and takes the database's one write lock before anything is read, so
no other writer can interleave with the read-modify-write.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update

from intake.extensions import db, dialect_insert
from intake.messaging.sends import schedule_send, send_key
from intake.models import CLOSED, Lead, RoutingDecision, RoutingRule, Team, TeamMember
from intake.routing.business_hours import BusinessCalendar, add_business_hours
from intake.routing.choice import (
    ALERT_CASES,
    NO_MEMBER,
    REASON_LENGTH,
    Choice,
    matching_rules,
    reason_for,
    starting_next,
    working_now,
)
from intake.routing.rows import (
    active_rules,
    active_staff_ids,
    open_lead_counts,
    team_members,
)
from intake.webhooks import emit as webhook_events

logger = logging.getLogger(__name__)

DEFAULT_TEAM = "Patient coordinators"
DEFAULT_RULE = "Everyone"
NO_MATCH = "no rule matched"


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


def _try_team(lead: Lead, rule: RoutingRule, choose, *, team_id=None) -> Choice | None:
    """Lock the rule's team and let ``choose`` pick; release the team again if it picks nobody."""
    savepoint = db.session.begin_nested() if _is_postgresql() else None
    team = db.session.scalar(
        select(Team)
        .where(Team.id == (team_id or rule.team_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    choice = None
    if team is not None:
        members = team_members(team.id)
        counts = open_lead_counts([member.id for member in members], other_than=lead.id)
        choice = choose(rule, team, members, counts)
    if savepoint is not None and choice is None:
        savepoint.rollback()  # lets the team go at once
    elif savepoint is not None:
        savepoint.commit()  # a released savepoint keeps the lock until the caller commits
    return choice


def _pick(lead: Lead, rules: Sequence[RoutingRule], choose) -> Choice | None:
    """The first matching rule's team that ``choose`` finds someone in, trying each team once."""
    passed_over: list[str] = []
    tried: set[int] = set()
    for rule in rules:
        choice = None
        if rule.team_id not in tried:
            tried.add(rule.team_id)
            choice = _try_team(lead, rule, choose)
        if choice is not None:
            return replace(choice, passed_over=tuple(passed_over))
        passed_over.append(rule.name)
    return None


def _no_member(rules: Sequence[RoutingRule]) -> Choice | None:
    """The first matching rule's team, for a lead nobody in any matching team can take."""
    team = db.session.get(Team, rules[0].team_id)
    if team is None:
        return None
    others = tuple(rule.name for rule in rules[1:])
    return Choice(rule=rules[0], team=team, member=None, kind=NO_MEMBER, passed_over=others)


def _choose(lead: Lead, rules: Sequence[RoutingRule], *, now: datetime) -> Choice | None:
    """Someone working now; else the next on shift (or a hold); else the first team, alone."""
    return (
        _pick(lead, rules, working_now(now, frozenset()))
        or _pick(lead, rules, starting_next(now))
        or _no_member(rules)
    )


def _record(lead: Lead, *, reason: str, now: datetime, choice: Choice | None = None, **ids):
    decision = RoutingDecision(
        lead_id=lead.id,
        rule_id=choice.rule.id if choice else ids.get("rule_id"),
        team_id=choice.team.id if choice else ids.get("team_id"),
        staff_user_id=choice.member.id if choice and choice.member else ids.get("staff_user_id"),
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


def _clinic_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["INTAKE_CLINIC_TIME_ZONE"])


def _start_deadline(lead: Lead, now: datetime) -> None:
    """First contact due a set number of business hours from now (or from the next opening)."""
    config = current_app.config
    lead.sla_due_at = add_business_hours(
        BusinessCalendar.from_config(config), now, config["INTAKE_SLA_HOURS"]
    )
    lead.sla_reminded_at = None
    lead.sla_breached_at = None


def _notify_owner(lead: Lead, decision: RoutingDecision, *, at: datetime, now: datetime) -> None:
    """A link to the lead for its new owner, sent when their hours start (at once if now)."""
    schedule_send(
        key=send_key(lead.id, "staff_new_lead", decision.id),
        cadence="staff_new_lead",
        template="staff_new_lead",
        due_at=max(at, now),
        staff_user_id=decision.staff_user_id,
        lead_id=lead.id,
        now=now,
    )


def _assign(lead: Lead, choice: Choice, *, now: datetime) -> RoutingDecision:
    """Give the lead to the chosen team (and member), start the SLA clock, notify the owner."""
    member = choice.member
    before = lead.owner_id
    lead.team_id = choice.team.id
    lead.owner_id = member.id if member is not None else None
    lead.assigned_at = now
    _start_deadline(lead, now)
    if member is not None:
        choice.team.last_assigned_id = member.id
    if lead.owner_id != before:
        webhook_events.record_owner_routed(lead_id=lead.id, owner_id=lead.owner_id,
                                           previous_owner_id=before, now=now)  # fmt: skip
    decision = _record(lead, reason=reason_for(choice, _clinic_zone()), now=now, choice=choice)
    if member is not None:
        _notify_owner(lead, decision, at=choice.starts_at or now, now=now)
    if choice.kind == NO_MEMBER:
        alert_admins(lead, case="no_member", now=now)
    logger.info("lead %s routed to team %s, staff %s (decision %s)",
                lead.id, lead.team_id, lead.owner_id, decision.id)  # fmt: skip
    return decision


def alert_admins(lead: Lead, *, case: str, now: datetime) -> None:
    """Alert each active admin (once per lead, case and day, however often routing retries)."""
    for admin_id in active_staff_ids("admin"):
        schedule_send(
            key=send_key(lead.id, "admin_alert", case, now.date().isoformat(), admin_id),
            cadence="admin_alert",
            template="admin_alert",
            step=ALERT_CASES.index(case),
            due_at=now,
            staff_user_id=admin_id,
            lead_id=lead.id,
            now=now,
        )


def _leave_unassigned(lead: Lead, *, now: datetime) -> RoutingDecision:
    """No rule matched: record it, keep (or start) the deadline, and alert each active admin."""
    if lead.sla_due_at is None:
        _start_deadline(lead, now)
    decision = _record(lead, reason=NO_MATCH, now=now)
    alert_admins(lead, case="no_rule", now=now)
    logger.warning("lead %s matched no routing rule (decision %s)", lead.id, decision.id)
    return decision


def _rule_behind(lead: Lead) -> RoutingRule | None:
    """The rule of the latest decision that put the lead in its current team."""
    return db.session.scalar(
        select(RoutingRule)
        .join(RoutingDecision, RoutingDecision.rule_id == RoutingRule.id)
        .where(RoutingDecision.lead_id == lead.id, RoutingDecision.team_id == lead.team_id)
        .order_by(RoutingDecision.id.desc())
        .limit(1)
    )


def _take_held(lead: Lead, *, now: datetime) -> RoutingDecision:
    """A lead its team holds: give it to a member working now; its deadline stands."""
    rule = _rule_behind(lead) or RoutingRule(name="(since removed)")
    choice = _try_team(lead, rule, working_now(now, frozenset()), team_id=lead.team_id)
    if choice is None:
        return _unrecorded(lead, reason="held for its team; nobody working yet", now=now)
    lead.owner_id, lead.assigned_at = choice.member.id, now
    choice.team.last_assigned_id = choice.member.id
    reason = f"{reason_for(choice, _clinic_zone())}, after being held for the team"
    decision = _record(lead, reason=reason, now=now, choice=choice)
    _notify_owner(lead, decision, at=now, now=now)
    return decision


def _keep_overdue(lead: Lead, *, now: datetime) -> RoutingDecision:
    """At breach nobody else is working now: the owner keeps the lead; admins are told."""
    decision = _record(
        lead,
        reason="first contact overdue; nobody else is working now, so the owner keeps the lead",
        now=now,
        team_id=lead.team_id,
        staff_user_id=lead.owner_id,
    )
    alert_admins(lead, case="overdue", now=now)
    return decision


def route_lead(
    *, lead_id: int, now: datetime, exclude_staff_ids: Collection[int] = ()
) -> RoutingDecision:
    """Give a lead its team and owner by the routing rules, store why, and notify them.

    An owned lead is left alone unless ``exclude_staff_ids`` asks for a reassignment (at an
    SLA breach); that only ever goes to someone working now, and a reassignment that finds
    nobody keeps the current owner. A lead its team holds goes to a member working now, if
    any. Decisions that change nothing are returned but not stored."""
    lead = _lock_lead(lead_id)
    exclude = frozenset(exclude_staff_ids)
    if lead.owner_id is not None and not exclude:
        return _unrecorded(lead, reason="already assigned; nothing changed", now=now)
    if lead.status in CLOSED:
        return _unrecorded(lead, reason=f"lead is closed ({lead.status}); not routed", now=now)
    if lead.owner_id is None and lead.team_id is not None:
        return _take_held(lead, now=now)
    rules = matching_rules(active_rules(), lead)
    if lead.owner_id is not None:
        choice = _pick(lead, rules, working_now(now, exclude))
        return _assign(lead, choice, now=now) if choice else _keep_overdue(lead, now=now)
    choice = _choose(lead, rules, now=now) if rules else None
    return _assign(lead, choice, now=now) if choice else _leave_unassigned(lead, now=now)


def _current_priority(lead: Lead) -> float | None:
    """The priority of the rule behind the lead's team and owner; None when assigned by hand."""
    if lead.team_id is None and lead.owner_id is None:
        return math.inf
    query = (
        select(RoutingRule.priority)
        .join(RoutingDecision, RoutingDecision.rule_id == RoutingRule.id)
        .where(RoutingDecision.lead_id == lead.id, RoutingDecision.team_id == lead.team_id)
        .order_by(RoutingDecision.id.desc())
        .limit(1)
    )
    if lead.owner_id is not None:
        query = query.where(RoutingDecision.staff_user_id == lead.owner_id)
    return db.session.scalar(query)


def route_on_event(*, lead_id: int, trigger: str, now: datetime) -> None:
    """What an inquiry event asks of routing: an owner for a new lead (an owned lead is left
    alone) and, once the inquiry is complete, a better team if the answers now point to one."""
    route_lead(lead_id=lead_id, now=now)
    if trigger == "inquiry.completed":
        reroute_if_better(lead_id=lead_id, now=now)


def reroute_if_better(*, lead_id: int, now: datetime) -> RoutingDecision | None:
    """Once the inquiry is complete, move the lead if routing now picks a better rule.

    Routing is run as for a new lead (someone working now first, then the next on shift or a
    hold); the lead moves only when the rule it lands on has a strictly lower priority number
    than the rule behind its current team, and never into a team with nobody who can take
    it. Closed, already contacted and hand-assigned leads are never moved."""
    lead = _lock_lead(lead_id)
    if lead.status in CLOSED or lead.first_contacted_at is not None:
        return None
    ceiling = _current_priority(lead)
    if ceiling is None:
        return None
    rules = matching_rules(active_rules(), lead)
    choice = _pick(lead, rules, working_now(now, frozenset())) or _pick(
        lead, [rule for rule in rules if rule.priority < ceiling], starting_next(now)
    )
    if choice is None or choice.rule.priority >= ceiling:
        return None
    return _assign(lead, choice, now=now)


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
