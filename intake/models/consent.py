"""Consent records: append-only; the newest row for a purpose is the one in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow


class Consent(db.Model):
    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_lead_id_purpose", "lead_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    inquiry_id: Mapped[int | None] = mapped_column(ForeignKey("inquiries.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    text_version: Mapped[str] = mapped_column(String(32))
    text_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead = relationship("Lead")
    inquiry = relationship("Inquiry")
