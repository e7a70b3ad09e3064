"""A lead: one prospective patient, however many inquiries they send."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.inquiry import Inquiry

PIPELINE = (
    "new",
    "attempting_contact",
    "contacted",
    "screening",
    "consult_scheduled",
    "consult_done",
    "treatment_planned",
    "treated",
)
CLOSED = ("not_eligible", "not_interested", "unreachable", "do_not_contact", "merged")
STATUSES = PIPELINE + CLOSED


class Lead(db.Model):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_email_last_inquiry_at", "email", "last_inquiry_at"),
        Index("ix_leads_phone_last_inquiry_at", "phone", "last_inquiry_at"),
        Index("ix_leads_status_created_at", "status", "created_at"),
        # Staff search by part of a name, email or phone (intake.staff.queries.queue): trigram GIN
        # indexes on PostgreSQL (the pg_trgm extension); plain indexes on SQLite, which scans.
        Index(
            "ix_leads_full_name_trgm",
            func.lower(text("(first_name || ' ') || last_name")).label("full_name"),
            postgresql_using="gin",
            postgresql_ops={"full_name": "gin_trgm_ops"},
        ),
        *(
            Index(
                f"ix_leads_{column}_trgm",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )
            for column in ("email", "phone")
        ),
        # A team's queue in SLA order, the default sort (bench P3).
        Index("ix_leads_team_id_sla_due_at", "team_id", "sla_due_at", "id"),
        Index(
            "ix_leads_sla_open",
            "sla_due_at",
            postgresql_where=text("first_contacted_at IS NULL"),
            sqlite_where=text("first_contacted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_inquiry_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(32), default="new")
    incomplete: Mapped[bool] = mapped_column(default=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # First-contact SLA, in the clinic's business hours.
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Who is filling in, and how to reach them.
    filled_by: Mapped[str] = mapped_column(String(16))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # Stored normalised (lower-case email, E.164 phone) so duplicates are found by equality.
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    preferred_contact_method: Mapped[str | None] = mapped_column(String(16))
    preferred_contact_time: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    time_zone: Mapped[str] = mapped_column(String(64))
    time_zone_source: Mapped[str] = mapped_column(String(16))
    # The language the patient chose (ISO 639-1): every later email and page uses it.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # Names the lead in its reply address (replies+<token>@...) without revealing anything;
    # random, made when the first email that carries it is written.
    reply_token: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)

    caregiver_first_name: Mapped[str | None] = mapped_column(String(100))
    caregiver_last_name: Mapped[str | None] = mapped_column(String(100))
    caregiver_relationship: Mapped[str | None] = mapped_column(String(100))
    caregiver_email: Mapped[str | None] = mapped_column(String(254))
    caregiver_phone: Mapped[str | None] = mapped_column(String(40))

    # First-touch attribution; each inquiry keeps its own as well.
    source: Mapped[str | None] = mapped_column(String(64))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))

    # Answers promoted to columns for filtering and routing (named in the questionnaire).
    ms_type: Mapped[str | None] = mapped_column(String(16))
    eligibility_outcome: Mapped[str | None] = mapped_column(String(32), index=True)

    # Set by staff on the lead page.
    consult_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clinical_decision: Mapped[str | None] = mapped_column(String(32))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    # Set when a second inquiry joined or a lead was merged in: from then on no inquiry
    # changes the name, email or phone above (intake.leads.identity).
    contact_fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erasure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    inquiries: Mapped[list[Inquiry]] = relationship(back_populates="lead", order_by="Inquiry.id")
