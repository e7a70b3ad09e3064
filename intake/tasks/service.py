"""Staff tasks on a lead: create, complete, cancel and reschedule, each recorded on the lead's
timeline. A task's note is what staff wrote and may hold health information: it is sealed at
rest (bound to its task), never logged, never put in an email.

Who may take a task: an active member of staff who may work leads (``leads.work``) and may see
this lead (``lead_scope``: admins, its owner, its team's members, everyone when it has no team).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, true

from intake.accounts.permissions import ADMIN, PERMISSIONS
from intake.display import lazy_gettext as _l
from intake.extensions import db, encryption
from intake.leads.pipeline import TransitionError, add_event
from intake.models import TASK_KINDS, Lead, LeadEvent, StaffTask, StaffUser, TeamMember

NOTE_MAX = 2000


def note_context(task: StaffTask) -> str:
    """Associated data binding a task's sealed note to that task of that lead."""
    return f"staff-task:{task.lead_id}:{task.id}"


def task_note(task: StaffTask) -> str | None:
    """The task's note, opened; None when it has none."""
    if not task.note_sealed:
        return None
    return encryption.keyring.open(task.note_sealed, context=note_context(task)).decode()


def assignee_condition(lead: Lead):
    """Staff who may take a task on ``lead``: active, may work leads, may see the lead."""
    may_see = [StaffUser.role == ADMIN, StaffUser.id == lead.owner_id]
    if lead.team_id is None:
        may_see = [true()]
    else:
        members = select(TeamMember.staff_user_id).where(TeamMember.team_id == lead.team_id)
        may_see.append(StaffUser.id.in_(members))
    return (
        StaffUser.active.is_(True),
        StaffUser.role.in_(sorted(PERMISSIONS["leads.work"])),
        or_(*may_see),
    )


def assignee_choices(lead: Lead) -> list[tuple[int, str]]:
    """(id, name) of everyone who may take a task on ``lead``, by name."""
    rows = db.session.execute(
        select(StaffUser.id, StaffUser.name)
        .where(*assignee_condition(lead))
        .order_by(StaffUser.name)
    )
    return [(row.id, row.name) for row in rows]


def _may_take(lead: Lead, staff_id: int) -> bool:
    found = db.session.scalar(
        select(StaffUser.id).where(StaffUser.id == staff_id, *assignee_condition(lead))
    )
    return found is not None


def _check_due(due_at: datetime, now: datetime, field: str) -> None:
    if due_at.tzinfo is None:
        raise ValueError("a task's due time must be time-zone aware")
    if due_at <= now:
        raise TransitionError(_l("Choose a due time in the future."), field=field)


def _check_note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise TransitionError(
            _l("Keep the note under %(max)d characters.", max=NOTE_MAX), field="note"
        )
    return note


def _check_open(task: StaffTask) -> None:
    if task.status != "open":
        raise TransitionError(_l("This task is already closed."))


def create_task(
    *,
    lead: Lead,
    kind: str,
    due_at: datetime,
    actor: StaffUser | None,
    now: datetime,
    assignee_id: int | None = None,
    note: str | None = None,
    due_field: str = "due",
) -> StaffTask:
    """Give someone a task on the lead, due at ``due_at`` (UTC, aware). The assignee defaults
    to the lead's owner when they may take it, else the creator; the note is sealed."""
    if lead.status == "merged":
        raise TransitionError(_l("This lead was merged into another lead; work on that one."))
    if lead.status == "do_not_contact":
        raise TransitionError(_l("The patient asked not to be contacted; no task can be added."))
    if kind not in TASK_KINDS:
        raise TransitionError(_l("Choose what kind of task this is."), field="kind")
    _check_due(due_at, now, due_field)
    note = _check_note(note)
    # Chosen, or the owner when they may take it, else whoever is adding it.
    choices = [assignee_id] if assignee_id is not None else [lead.owner_id, actor and actor.id]
    assignee_id = next((i for i in choices if i and _may_take(lead, i)), None)
    if assignee_id is None:
        raise TransitionError(
            _l("Choose a member of staff who can work this lead."), field="assignee"
        )
    task = StaffTask(
        lead_id=lead.id,
        assignee_id=assignee_id,
        kind=kind,
        due_at=due_at,
        status="open",
        created_by_id=actor.id if actor else None,
        created_at=now,
    )
    db.session.add(task)
    db.session.flush()
    if note:
        task.note_sealed = encryption.keyring.seal(note.encode(), context=note_context(task))
    data = {"task_id": task.id, "kind": kind, "due": due_at.isoformat(), "to": assignee_id}
    add_event(lead=lead, kind="task_created", actor=actor, now=now, data=data)
    return task


def _close(task: StaffTask, *, status: str, actor: StaffUser | None, now: datetime) -> LeadEvent:
    _check_open(task)
    task.status = status
    task.done_at = now
    task.done_by_id = actor.id if actor else None
    lead = db.session.get(Lead, task.lead_id)
    kind = "task_done" if status == "done" else "task_cancelled"
    return add_event(
        lead=lead, kind=kind, actor=actor, now=now, data={"task_id": task.id, "kind": task.kind}
    )


def complete_task(*, task: StaffTask, actor: StaffUser | None, now: datetime) -> LeadEvent:
    """Mark an open task done; its reminders stop."""
    return _close(task, status="done", actor=actor, now=now)


def cancel_task(*, task: StaffTask, actor: StaffUser | None, now: datetime) -> LeadEvent:
    """Cancel an open task that is no longer needed; its reminders stop."""
    return _close(task, status="cancelled", actor=actor, now=now)


def reschedule_task(
    *, task: StaffTask, due_at: datetime, actor: StaffUser | None, now: datetime
) -> LeadEvent:
    """Move an open task's due time: it is reminded, and escalated, again from the new time
    (an email about the old time not yet gone stops at send time)."""
    _check_open(task)
    _check_due(due_at, now, "due")
    before = task.due_at
    task.due_at = due_at
    task.reminded_at = task.escalated_at = None
    lead = db.session.get(Lead, task.lead_id)
    data = {"task_id": task.id, "from": before.isoformat(), "due": due_at.isoformat()}
    return add_event(lead=lead, kind="task_rescheduled", actor=actor, now=now, data=data)


@dataclass(frozen=True)
class TaskRow:
    id: int
    lead_id: int
    kind: str
    due_at: datetime
    assignee_id: int
    assignee: str
    overdue: bool
    lead_name: str = ""  # on "My tasks" only


def _name(row) -> str:
    return " ".join(filter(None, (row.get("first_name"), row.get("last_name"))))


def _rows(query, now: datetime) -> list[TaskRow]:
    return [
        TaskRow(
            id=row.id,
            lead_id=row.lead_id,
            kind=row.kind,
            due_at=row.due_at,
            assignee_id=row.assignee_id,
            assignee=row.name,
            overdue=row.due_at <= now,
            lead_name=" ".join(
                filter(None, (row._mapping.get("first_name"), row._mapping.get("last_name")))
            ),
        )
        for row in db.session.execute(query)
    ]


def _open_tasks():
    return (
        select(
            StaffTask.id,
            StaffTask.lead_id,
            StaffTask.kind,
            StaffTask.due_at,
            StaffTask.assignee_id,
            StaffUser.name,
        )
        .join(StaffUser, StaffUser.id == StaffTask.assignee_id)
        .where(StaffTask.status == "open")
    )


def lead_open_tasks(*, lead_id: int, now: datetime) -> list[TaskRow]:
    """The lead's open tasks, soonest first (one statement)."""
    query = _open_tasks().where(StaffTask.lead_id == lead_id).order_by(StaffTask.due_at)
    return _rows(query, now)


def my_open_tasks(*, staff_id: int, scope, now: datetime, limit: int = 200) -> list[TaskRow]:
    """A member's open tasks on leads within ``scope``: overdue first, then by due time — which,
    with overdue meaning due before now, is simply by due time (one statement)."""
    query = (
        _open_tasks()
        .add_columns(Lead.first_name, Lead.last_name)
        .join(Lead, Lead.id == StaffTask.lead_id)
        .where(StaffTask.assignee_id == staff_id, scope)
        .order_by(StaffTask.due_at, StaffTask.id)
        .limit(limit)
    )
    return _rows(query, now)
