"""First-contact SLA: remind the owner before the deadline, escalate and reassign at breach.

Every routed lead has a deadline, owned or not: a lead its team holds (or that matched no
rule) is escalated at breach too, to the team lead or the admins, and offered to anyone
working now. Only owners are reminded. The reminder comes at a fraction of the clinic's open
hours between assignment and deadline, so leads given out at night are reminded in the day.

Beat may run this sweep twice at once. Every state change is a conditional UPDATE (``… WHERE
sla_reminded_at IS NULL`` and the owner and assignment time the sweep saw), and a message is
scheduled only when that UPDATE changed the row, so no reminder or escalation is ever doubled.
On PostgreSQL the rows are also claimed with ``FOR UPDATE SKIP LOCKED``, so two sweeps split
the work instead of queueing on it. Breaches are handled before reminders, and a breach marks
the reminder as done, so a lead found late is escalated without a pointless reminder first.

The state of a lead's SLA (met, breached, due soon, on track, or none without a deadline) has
one definition here, in Python for a loaded row and in SQL for a filter, side by side.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, update

from intake.extensions import db
from intake.messaging.sends import schedule_send, send_key
from intake.models import CLOSED, Lead, StaffUser, Team
from intake.models.types import UTCDateTime
from intake.routing.business_hours import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
)
from intake.routing.service import active_staff_ids, route_lead

logger = logging.getLogger(__name__)

SLA_STATES = ("breached", "due_soon", "on_track", "met")
DUE_SOON = timedelta(minutes=30)


def sla_state(row, now: datetime) -> str | None:
    """The SLA state of one lead (or row with its SLA columns) at ``now``: met once contacted;
    breached when marked so or past its deadline; due_soon within ``DUE_SOON`` of it; else
    on_track; None when it has no deadline. The same rules as ``sla_condition``."""
    if row.first_contacted_at is not None:
        return "met"
    if row.sla_breached_at is not None or (row.sla_due_at and row.sla_due_at <= now):
        return "breached"
    if row.sla_due_at is None:
        return None
    return "due_soon" if row.sla_due_at <= now + DUE_SOON else "on_track"


def sla_condition(state: str, now: datetime) -> ColumnElement[bool]:
    """The leads whose SLA is in ``state`` (one of ``SLA_STATES``) at ``now``, as ``sla_state``
    decides it."""
    if state == "met":
        return Lead.first_contacted_at.is_not(None)
    waiting = Lead.first_contacted_at.is_(None)
    if state == "breached":
        return and_(waiting, or_(Lead.sla_breached_at.is_not(None), Lead.sla_due_at <= now))
    running = and_(waiting, Lead.sla_breached_at.is_(None), Lead.sla_due_at > now)
    if state == "due_soon":
        return and_(running, Lead.sla_due_at <= now + DUE_SOON)
    return and_(running, Lead.sla_due_at > now + DUE_SOON)


def reminder_at(
    assigned_at: datetime, sla_due_at: datetime, fraction: float, calendar: BusinessCalendar
) -> datetime:
    """When the owner is reminded: ``fraction`` of the clinic's open hours from assignment to
    the deadline, so a lead given out on Friday night is reminded on Monday, not on Sunday."""
    open_hours = business_hours_between(calendar, assigned_at, sla_due_at)
    return min(add_business_hours(calendar, assigned_at, open_hours * fraction), sla_due_at)


def _waiting_for_contact() -> tuple:
    """Open leads with an SLA clock that nobody has contacted yet (owned, held or unmatched)."""
    return (
        Lead.sla_due_at.is_not(None),
        Lead.first_contacted_at.is_(None),
        Lead.status.not_in(CLOSED),
    )


def _owned() -> tuple:
    return (Lead.owner_id.is_not(None), Lead.assigned_at.is_not(None))


def _skip_locked(query: Select) -> Select:
    if db.engine.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Lead)
    return query  # SQLite has one writer at a time; the conditional UPDATE decides


def _claim(row, *, still_unset: tuple, **changes) -> bool:
    """Apply ``changes`` only if the lead is still as the sweep saw it; True when it was."""
    result = db.session.execute(
        update(Lead)
        .where(
            Lead.id == row.id,
            Lead.owner_id == row.owner_id,
            Lead.assigned_at == row.assigned_at,
            *_waiting_for_contact(),
            *[column.is_(None) for column in still_unset],
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _breaches(now: datetime, limit: int) -> list:
    query = (
        select(Lead.id, Lead.owner_id, Lead.team_id, Lead.assigned_at)
        .where(*_waiting_for_contact(), Lead.sla_breached_at.is_(None), Lead.sla_due_at <= now)
        .order_by(Lead.sla_due_at, Lead.id)
        .limit(limit)
    )
    return db.session.execute(_skip_locked(query)).all()


def _reminders(now: datetime, limit: int) -> list:
    """Leads whose reminder time has come, soonest first.

    The fraction is applied here, not in SQL, so both backends agree to the microsecond; the
    scan covers only leads still early in their SLA window, a set that grows with the live
    backlog, not with the table."""
    fraction = current_app.config["INTAKE_SLA_REMINDER_FRACTION"]
    calendar = BusinessCalendar.from_config(current_app.config)
    rows = db.session.execute(
        select(Lead.id, Lead.owner_id, Lead.assigned_at, Lead.sla_due_at).where(
            *_waiting_for_contact(),
            *_owned(),
            Lead.sla_reminded_at.is_(None),
            Lead.sla_breached_at.is_(None),
            Lead.sla_due_at > now,
            Lead.assigned_at <= now,
        )
    ).all()
    times = {
        row.id: reminder_at(row.assigned_at, row.sla_due_at, fraction, calendar) for row in rows
    }
    due = sorted(
        (row for row in rows if times[row.id] <= now), key=lambda row: (times[row.id], row.id)
    )[:limit]
    if not due or db.engine.dialect.name != "postgresql":
        return due
    locked = set(
        db.session.scalars(_skip_locked(select(Lead.id).where(Lead.id.in_([r.id for r in due]))))
    )
    return [row for row in due if row.id in locked]


def _escalation_recipients(team_id: int | None) -> list[int]:
    """The team's lead when there is an active one, else every active admin."""
    team_lead = db.session.scalar(
        select(StaffUser.id)
        .join(Team, Team.lead_staff_id == StaffUser.id)
        .where(Team.id == team_id, StaffUser.active.is_(True))
    )
    return [team_lead] if team_lead is not None else active_staff_ids("admin")


def _lock_all_teams() -> None:
    """Lock every team in id order before routing several leads in this one transaction.

    Routing one lead holds at most one team; a sweep that reassigns many could hold several
    in varying orders and deadlock with another sweep, so it takes them all, in one order."""
    db.session.execute(select(Team.id).order_by(Team.id).with_for_update()).all()


def _escalate(row, *, now: datetime) -> bool:
    """Tell the team lead (or admins), then reassign by rule; True when someone took it."""
    clock = (row.assigned_at or row.sla_due_at).isoformat()
    for staff_id in _escalation_recipients(row.team_id):
        schedule_send(
            key=send_key(row.id, "sla_escalation", clock, staff_id),
            cadence="sla_escalation",
            template="sla_escalation",
            due_at=now,
            now=now,
            lead_id=row.id,
            staff_user_id=staff_id,
        )
    owner = (row.owner_id,) if row.owner_id is not None else ()
    decision = route_lead(lead_id=row.id, now=now, exclude_staff_ids=owner)
    logger.info("lead %s breached its SLA; routing decision %s", row.id, decision.id)
    return decision.id is not None and decision.staff_user_id not in (None, row.owner_id)


def _remind(row, *, now: datetime) -> None:
    schedule_send(
        key=send_key(row.id, "sla_reminder", row.assigned_at.isoformat()),
        cadence="sla_reminder",
        template="sla_reminder",
        due_at=now,
        now=now,
        lead_id=row.id,
        staff_user_id=row.owner_id,
    )


def sweep_sla(*, now: datetime, limit: int = 500) -> dict:
    """Escalate breached first-contact SLAs and remind owners whose deadline is near.

    Returns counts: ``escalated``, ``reassigned`` (escalated leads that found a new owner)
    and ``reminded``. Safe to run twice at once; the caller commits."""
    counts = {"escalated": 0, "reassigned": 0, "reminded": 0}
    breached = Lead.sla_breached_at
    breaches = _breaches(now, limit)
    if breaches:
        _lock_all_teams()
    for row in breaches:
        reminded = func.coalesce(Lead.sla_reminded_at, literal(now, UTCDateTime))
        if _claim(row, still_unset=(breached,), sla_breached_at=now, sla_reminded_at=reminded):
            counts["escalated"] += 1
            counts["reassigned"] += _escalate(row, now=now)
    for row in _reminders(now, limit):
        if _claim(row, still_unset=(breached, Lead.sla_reminded_at), sla_reminded_at=now):
            counts["reminded"] += 1
            _remind(row, now=now)
    return counts
