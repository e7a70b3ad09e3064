"""The task emails as the send ledger knows them: their cadences, their keys, and what the
mailer and the send-time check need from the task (its due time; whether it is still open).

A reminder's key is ``task:<id>:reminder`` (one assignee); an escalation's is
``task:<id>:escalation:<staff id>`` (one per team lead or admin)."""

from __future__ import annotations

from datetime import datetime

from intake.extensions import db
from intake.models import Send, StaffTask

REMINDER = "task_reminder"
ESCALATION = "task_escalation"
TASK_CADENCES = (REMINDER, ESCALATION)


def task_key(task_id: int, cadence: str, staff_id: int) -> str:
    if cadence == REMINDER:
        return f"task:{task_id}:reminder"
    return f"task:{task_id}:escalation:{staff_id}"


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
    return None
