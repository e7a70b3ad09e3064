"""An inquiry: one pass through the questionnaire, draft until the patient submits it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.lead import Lead


def new_public_id() -> str:
    return uuid.uuid4().hex


class Inquiry(db.Model):
    __tablename__ = "inquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    questionnaire_id: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[str] = mapped_column(String(32))
    steps_saved: Mapped[int] = mapped_column(default=1)
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Every answer not kept in a lead column, sealed as one JSON document (see intake.crypto).
    answers_sealed: Mapped[str | None] = mapped_column(Text)

    # Where this visit came from.
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    referrer: Mapped[str | None] = mapped_column(String(500))
    landing_page: Mapped[str | None] = mapped_column(String(500))

    lead: Mapped[Lead] = relationship(back_populates="inquiries")

    @property
    def answers_context(self) -> str:
        """Associated data binding the sealed answers to this inquiry."""
        return f"inquiry-answers:{self.public_id}"


class ResumeToken(db.Model):
    """A link that reopens a draft on any device; only the token's hash is stored."""

    __tablename__ = "resume_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
