"""The task sweep: remind an assignee once when their task comes due, and tell the team lead
(else the admins) once when it is still open ``INTAKE_TASK_ESCALATE_HOURS`` later.

Beat may run this twice at once. Each step is claimed by a conditional UPDATE (``… WHERE
status = 'open' AND reminded_at IS NULL``), and its email is put in the send ledger only when
that UPDATE changed the row; the ledger key (``task:<id>:<due>:reminder``) makes a second
schedule a no-op anyway. Moving a task to a new time clears both claims, so it is reminded (and
escalated) again from that time. A task done, cancelled or moved before its email goes is
checked again at send time (``intake.tasks.notices.task_stop``). Work grows with the due open
tasks, read from the open-task index, not with the table.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from intake.extensions import db
from intake.messaging.sends import schedule_send
from intake.models import Lead, StaffTask, StaffUser, Team
from intake.routing.service import active_staff_ids
from intake.tasks.notices import ESCALATION, REMINDER, task_key

logger = logging.getLogger(__name__)


def _claim(task_id: int, column, now: datetime) -> bool:
    """Set ``column`` to ``now`` if the task is still open and it is still unset."""
    result = db.session.execute(
        update(StaffTask)
        .where(StaffTask.id == task_id, StaffTask.status == "open", column.is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _due(column, before: datetime, limit: int) -> list:
    query = (
        select(StaffTask.id, StaffTask.lead_id, StaffTask.assignee_id, StaffTask.due_at)
        .where(StaffTask.status == "open", StaffTask.due_at <= before, column.is_(None))
        .order_by(StaffTask.due_at, StaffTask.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.execute(query).all()


def escalation_recipients(lead_id: int) -> list[int]:
    """The active lead of the lead's team, else every active admin."""
    team_lead = db.session.scalar(
        select(StaffUser.id)
        .join(Team, Team.lead_staff_id == StaffUser.id)
        .join(Lead, Lead.team_id == Team.id)
        .where(Lead.id == lead_id, StaffUser.active.is_(True))
    )
    return [team_lead] if team_lead is not None else active_staff_ids("admin")


def _schedule(row, *, cadence: str, staff_id: int, now: datetime) -> None:
    schedule_send(
        key=task_key(row.id, row.due_at, cadence, staff_id),
        cadence=cadence,
        template=cadence,
        due_at=now,
        now=now,
        lead_id=row.lead_id,
        staff_user_id=staff_id,
    )


def sweep_tasks(*, now: datetime, escalate_hours: float, limit: int = 500) -> dict:
    """Remind assignees of tasks that have come due, and escalate those still open
    ``escalate_hours`` after their due time. Returns counts; the caller commits."""
    counts = {"reminded": 0, "escalated": 0}
    for row in _due(StaffTask.reminded_at, now, limit):
        if _claim(row.id, StaffTask.reminded_at, now):
            _schedule(row, cadence=REMINDER, staff_id=row.assignee_id, now=now)
            counts["reminded"] += 1
    late = now - timedelta(hours=escalate_hours)
    for row in _due(StaffTask.escalated_at, late, limit):
        if _claim(row.id, StaffTask.escalated_at, now):
            for staff_id in escalation_recipients(row.lead_id):
                _schedule(row, cadence=ESCALATION, staff_id=staff_id, now=now)
            counts["escalated"] += 1
            logger.info("task %s still open past its escalation time", row.id)
    return counts
