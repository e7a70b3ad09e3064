"""Staff tasks: a call back or a follow-up on a lead, due at a time, for one member of staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

TASK_KINDS = ("call_back", "follow_up")
TASK_STATUSES = ("open", "done", "cancelled")

_OPEN = text("status = 'open'")


class StaffTask(db.Model):
    __tablename__ = "staff_tasks"
    __table_args__ = (
        # "My tasks" and the queue's next task: open tasks by person and by lead, soonest first.
        Index(
            "ix_staff_tasks_open_assignee",
            "assignee_id",
            "due_at",
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        Index(
            "ix_staff_tasks_open_lead",
            "lead_id",
            "due_at",
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),  # fmt: skip
        # The reminder and escalation sweeps.
        Index("ix_staff_tasks_open_due", "due_at", postgresql_where=_OPEN, sqlite_where=_OPEN),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(16), default="call_back")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    # What to do, as staff wrote it: may hold health information, so sealed at rest.
    note_sealed: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
