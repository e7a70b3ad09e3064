"""Stored eligibility outcomes, one per evaluation, with the rule-set version that produced it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow


class EligibilityResult(db.Model):
    __tablename__ = "eligibility_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    ruleset_id: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[str] = mapped_column(String(32))
    patient_message: Mapped[str] = mapped_column(String(64))
    # The triggered rules reveal health conditions, so they are sealed like the answers.
    triggered_sealed: Mapped[str] = mapped_column(Text)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def triggered_context(self) -> str:
        return f"eligibility-triggered:{self.inquiry_id}:{self.ruleset_version}"
