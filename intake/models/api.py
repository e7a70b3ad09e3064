"""The REST API's own rows: integration keys with scopes, and remembered POST answers.

A key's token is ``ik_<prefix>_<secret>``; only the SHA-256 of the secret is kept. The secret
is 32 random bytes, so a fast, unsalted hash is right here (nothing to guess by brute force,
unlike a password); the prefix finds the row, the hash is compared in constant time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

# Every scope a key may hold, in one place (webhooks:manage is used by the webhook admin API).
API_SCOPES = (
    "inquiries:create",
    "leads:read",
    "leads:read_answers",
    "leads:write",
    "webhooks:manage",
)


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def allows(self, scope: str) -> bool:
        return self.revoked_at is None and scope in (self.scopes or [])


class IdempotencyRecord(db.Model):
    """The answer to a POST sent with an ``Idempotency-Key``: ids and status only, no patient
    data. The unique pair makes two concurrent requests with one key race for one row."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("api_key_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # None while the first request is still working on it.
    status: Mapped[int | None] = mapped_column()
    body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
