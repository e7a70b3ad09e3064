"""The send ledger: one row per (lead, cadence, step), so each message goes at most once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

# scheduled → sending → sent; or cancelled (a stop condition held) or dead (gave up).
SEND_STATUSES = ("scheduled", "sending", "sent", "cancelled", "dead")


class Send(db.Model):
    __tablename__ = "sends"
    __table_args__ = (
        Index(
            "ix_sends_due",
            "due_at",
            postgresql_where=text("status = 'scheduled'"),
            sqlite_where=text("status = 'scheduled'"),
        ),
        # The due sweep's other branch: rows whose worker vanished mid-send (bench P5).
        Index(
            "ix_sends_sending",
            "claimed_at",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "<lead>:<cadence>:<step>" (or a staff member and day for digests): unique, so never twice.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    inquiry_id: Mapped[int | None] = mapped_column(ForeignKey("inquiries.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    cadence: Mapped[str] = mapped_column(String(32))
    step: Mapped[int] = mapped_column(default=0)
    template: Mapped[str] = mapped_column(String(64))
    # "email", or "text" for a text message (intake.models.conversation.CHANNELS).
    channel: Mapped[str] = mapped_column(String(8), default="email", server_default="email")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the sweep last handed it to a worker; not handed again for a while.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_reason: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    # The error's class and SMTP code only: never an address or message content.
    last_error: Mapped[str | None] = mapped_column(String(200))
    # Found again by the reply mailbox sweep: a reply or a bounce names it (In-Reply-To).
    message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    # A consult's confirmation, update, cancellation or reminder (intake.consults.messages).
    consult_id: Mapped[int | None] = mapped_column(ForeignKey("consults.id"))


class CapturedEmail(db.Model):
    """Mail kept locally instead of sent (the embedded default), readable by staff."""

    __tablename__ = "captured_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    headers: Mapped[dict] = mapped_column(JSON)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)


class Suppression(db.Model):
    """An address we must not email again: it bounced permanently or complained."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
