"""The task emails as the send ledger knows them: their cadences, their keys, and what the
mailer and the send-time check need from the task (its due time; whether it is still open).

A reminder's key is ``task:<id>:<due>:reminder`` (one assignee); an escalation's is
``task:<id>:<due>:escalation:<staff id>`` (one per team lead or admin), ``<due>`` being the due
time in epoch seconds: a task moved to a new time is reminded again at that time, and an email
about its old time, not yet gone, stops."""

from __future__ import annotations

from datetime import datetime

from intake.extensions import db
from intake.models import Send, StaffTask

REMINDER = "task_reminder"
ESCALATION = "task_escalation"
TASK_CADENCES = (REMINDER, ESCALATION)


def task_key(task_id: int, due_at: datetime, cadence: str, staff_id: int) -> str:
    due = int(due_at.timestamp())
    if cadence == REMINDER:
        return f"task:{task_id}:{due}:reminder"
    return f"task:{task_id}:{due}:escalation:{staff_id}"


def _task(send: Send) -> StaffTask | None:
    parts = send.key.split(":")
    if send.cadence not in TASK_CADENCES or len(parts) < 3 or not parts[1].isdigit():
        return None
    return db.session.get(StaffTask, int(parts[1]))


def task_due(send: Send) -> datetime | None:
    """The due time of the task a task email is about; None for any other email."""
    task = _task(send)
    return task.due_at if task is not None else None


def task_stop(send: Send) -> str | None:
    """Why a task email must not go now: the task was done or cancelled since."""
    task = _task(send)
    if task is None or task.status != "open":
        return "task_closed"
    if send.key.split(":")[2] != str(int(task.due_at.timestamp())):
        return "task_rescheduled"
    return None
