"""Who a lead is: every contact detail ever given for it (with its origin), the pairs of
leads that may be the same person, and the merges staff made (so each can be undone)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

CONTACT_KINDS = ("name", "email", "phone", "caregiver_name", "caregiver_email", "caregiver_phone")
CONTACT_SOURCES = ("inquiry", "lead", "merge")  # "lead": already on the lead, origin unknown
PAIR_STATUSES = ("open", "not_same_person", "merged")


class LeadContact(db.Model):
    """One contact detail of a lead (a name, email or phone), never changed once written."""

    __tablename__ = "lead_contacts"
    __table_args__ = (
        Index("ix_lead_contacts_lead_id", "lead_id"),
        Index("ix_lead_contacts_kind_value", "kind", "value"),
        # Staff search by part of any detail ever given (intake.staff.queries.queue).
        Index(
            "ix_lead_contacts_value_trgm",
            "value",
            postgresql_using="gin",
            postgresql_ops={"value": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    kind: Mapped[str] = mapped_column(String(24))
    # As given: a name as typed (spaces collapsed), a lower-case email, an E.164 phone.
    value: Mapped[str] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(16))
    inquiry_id: Mapped[int | None] = mapped_column(ForeignKey("inquiries.id"))
    # Set while the detail sits on another lead because of a merge: the lead it came from.
    merged_from_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DuplicatePair(db.Model):
    """Two leads that may be one person, found when an inquiry overlapped another lead.

    ``lead_id`` is always the smaller id, so a pair is recorded (and dismissed) once."""

    __tablename__ = "duplicate_pairs"
    __table_args__ = (
        UniqueConstraint("lead_id", "other_id"),
        Index("ix_duplicate_pairs_other_id", "other_id"),
        Index("ix_duplicate_pairs_status_found_at", "status", "found_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    reason: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="open")
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class LeadMerge(db.Model):
    """One merge, with what it moved and what the kept lead was before, to undo it exactly."""

    __tablename__ = "lead_merges"
    __table_args__ = (
        Index("ix_lead_merges_kept_id", "kept_id"),
        Index("ix_lead_merges_merged_id", "merged_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    merged_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_pairs.id"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # Ids moved to the kept lead and the fields the merge changed on both leads (no contact
    # details: those stay in lead_contacts).
    moved: Mapped[dict] = mapped_column(JSON, default=dict)
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
