"""What staff did to a lead: status changes, notes, calls, consults, decisions, assignments.

One row per event, shown on the lead's timeline beside its inquiries, emails and routing
decisions. A note may hold health information, so its text is sealed like the answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

EVENT_KINDS = (
    "status_changed",
    "note",
    "call",
    "consult_scheduled",
    "consult_moved",
    "consult_cancelled",
    "consult_done",
    "consult_no_show",
    "task_created",
    "task_done",
    "task_cancelled",
    "task_rescheduled",
    "clinical_decision",
    "assigned",
    "merged",
    "unmerged",
    "not_duplicate",
    "erasure_requested",
    "erased",
)
CALL_OUTCOMES = ("reached", "voicemail", "no_answer", "wrong_number", "call_back_requested")
CLINICAL_DECISIONS = ("candidate", "not_candidate", "needs_more_information")


class LeadEvent(db.Model):
    __tablename__ = "lead_events"
    __table_args__ = (Index("ix_lead_events_lead_id_at", "lead_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # Non-identifying facts: {"from": "new", "to": "contacted", "reason": "..."}, call outcome...
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Free text a person typed (note, call summary, decision note), sealed at rest.
    text_sealed: Mapped[str | None] = mapped_column(Text)
