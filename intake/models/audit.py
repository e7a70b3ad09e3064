"""The audit log: one append-only, hash-chained row per staff view, search, export, change and
sign-in event. Rows name leads by id only; no patient data is written here.

Each row's hash covers its own fields, its place and the previous row's hash, so editing or
deleting a row breaks the chain from there on. ``audit_head`` is a one-row table holding the
chain's end. One UPDATE advances it and computes the new hash inside the database, which both
serialises writers (a row lock on PostgreSQL, the write lock on SQLite) and hands back the
link for the INSERT that follows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

GENESIS = "0" * 64


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_actor_id_at", "actor_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    lead_ids: Mapped[list] = mapped_column(JSON, default=list)
    target: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    prev_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
