"""Staff sign-in state kept on the server: sessions, one-time tokens and recovery codes.

The browser's cookie carries only a random session token; its SHA-256 is the key here, so a
database leak does not hand out live sessions. Logout, disabling an account and a password
change revoke rows, which ends the session on the next request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

TOKEN_PURPOSES = ("invitation", "password_reset")


class StaffSession(db.Model):
    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class StaffToken(db.Model):
    """An emailed, single-use link: an invitation to set a first password, or a reset."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    # The token itself, sealed, for the worker that renders the email; cleared once sent.
    token_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """A one-time second factor for a lost phone; only its argon2 hash is kept."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
