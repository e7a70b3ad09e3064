"""Conversations: what staff write to a patient by email or text, and what comes back.

A staff-sent message is a row here (its words, sealed) and a row in the send ledger (so it goes
at most once, after the same checks as every automatic message). A reply, an auto-reply, a
bounce or a STOP text is a row here too, read once by its external id. Message templates are
versioned: an admin's edit adds a version, and the newest one of a (key, channel, language) is
the one in force; a message remembers the version it was written from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

CHANNELS = ("email", "text")
DIRECTIONS = ("out", "in")
# What a row is: a message staff wrote; or, coming in, a patient's reply, an automatic answer
# (out of office), a bounce (a delivery status notification), or a keyword text (STOP, START,
# HELP) that changes consent.
MESSAGE_KINDS = ("message", "reply", "auto_reply", "bounce", "stop", "start", "help")


class MessageTemplate(db.Model):
    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("key", "channel", "language", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(48))
    channel: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int]
    # Emails only; a text has no subject.
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class ConversationMessage(db.Model):
    __tablename__ = "conversation_messages"
    __table_args__ = (
        Index("ix_conversation_messages_lead_id_at", "lead_id", "at"),
        # The queue's "replied" filter and the count on "My leads": unread replies only.
        Index(
            "ix_conversation_messages_unread",
            "lead_id",
            postgresql_where=text("kind = 'reply' AND read_at IS NULL"),
            sqlite_where=text("kind = 'reply' AND read_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    direction: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    # Who wrote it (outgoing); None for what the patient or a mail server sent.
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # The ledger row that delivers an outgoing message; its status is the delivery state.
    send_id: Mapped[int | None] = mapped_column(ForeignKey("sends.id"), unique=True)
    template_key: Mapped[str | None] = mapped_column(String(48))
    template_version: Mapped[int | None]
    # Sealed like notes: a patient may write anything, and so may staff.
    subject_sealed: Mapped[str | None] = mapped_column(Text)
    body_sealed: Mapped[str | None] = mapped_column(Text)
    # An incoming message's Message-ID or the provider's message id: each is recorded once.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The outgoing message a reply answers, when it could be told.
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("conversation_messages.id"))
    # Texts: how many parts the provider counts.
    segments: Mapped[int | None]
    # Replies: when a member of staff first read it on the lead page.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageAttachment(db.Model):
    """A file a patient attached to a reply: kept sealed within the size and type limits, or
    refused (``refused`` says why, and nothing of the file is kept) so nothing goes silently."""

    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("conversation_messages.id"), index=True)
    filename_sealed: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data_sealed: Mapped[str | None] = mapped_column(Text)
    # "too_large" or "type" when it was not kept.
    refused: Mapped[str | None] = mapped_column(String(16))


class CapturedText(db.Model):
    """A text message kept locally instead of sent (the embedded default), readable by staff."""

    __tablename__ = "captured_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int]


class MailboxState(db.Model):
    """Where the reply-mailbox sweep got to: the mailbox's UIDVALIDITY and the last UID read."""

    __tablename__ = "mailbox_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200), unique=True)
    uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
