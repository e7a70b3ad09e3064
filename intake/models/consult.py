"""Consults: what kinds there are, who holds them and when, and each booking.

A consult's time is two aware UTC instants; a host's weekly hours are wall-clock times in their
own zone (``StaffUser.time_zone``), so a daylight-saving change moves the hours in UTC, never on
the host's clock. A slot can be held by one booked consult only: a unique index on (host, start)
on every backend, and on PostgreSQL an exclusion constraint over the whole time range
(``consults_no_overlap``, made in the migration: SQLAlchemy cannot express it portably).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

CONSULT_KINDS = ("phone", "video", "in_person")
# booked → done or no_show (after its time), or cancelled (by staff or the patient).
CONSULT_STATUSES = ("booked", "cancelled", "done", "no_show")
BOOKED_BY = ("staff", "patient")

_BOOKED = text("status = 'booked'")


class ConsultType(db.Model):
    __tablename__ = "consult_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="video")
    duration_minutes: Mapped[int] = mapped_column(default=30)
    # A video consult's meeting link, or an in-person consult's address; never patient data.
    video_url: Mapped[str | None] = mapped_column(String(500))
    location: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsultTypeHost(db.Model):
    """Who may hold consults of a type."""

    __tablename__ = "consult_type_hosts"

    consult_type_id: Mapped[int] = mapped_column(ForeignKey("consult_types.id"), primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)


class AvailabilityWindow(db.Model):
    """A weekly period a host takes consults: weekday (0 = Monday) and "HH:MM" in their zone."""

    __tablename__ = "availability_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    weekday: Mapped[int] = mapped_column()
    start_time: Mapped[str] = mapped_column(String(5))
    end_time: Mapped[str] = mapped_column(String(5))


class AvailabilityException(db.Model):
    """One day that differs from the week: off (no times: the whole day), or extra hours."""

    __tablename__ = "availability_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    # False: unavailable (the whole day when no times are given); True: extra hours that day.
    available: Mapped[bool] = mapped_column(default=False)
    start_time: Mapped[str | None] = mapped_column(String(5))
    end_time: Mapped[str | None] = mapped_column(String(5))


class Consult(db.Model):
    __tablename__ = "consults"
    __table_args__ = (
        Index(
            "uq_consults_host_start_booked",
            "staff_user_id",
            "starts_at",
            unique=True,
            postgresql_where=_BOOKED,
            sqlite_where=_BOOKED,
        ),
        # One booked consult per lead at a time: a second booking moves the first instead.
        Index(
            "uq_consults_lead_booked",
            "lead_id",
            unique=True,
            postgresql_where=_BOOKED,
            sqlite_where=_BOOKED,
        ),
        Index("ix_consults_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The calendar UID (RFC 5545): the same through every move and the cancellation.
    uid: Mapped[str] = mapped_column(String(100), unique=True)
    # RFC 5545 SEQUENCE: 0 when booked, one more on each move and on the cancellation.
    sequence: Mapped[int] = mapped_column(default=0)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    consult_type_id: Mapped[int] = mapped_column(ForeignKey("consult_types.id"))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    booked_by: Mapped[str] = mapped_column(String(16), default="staff")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When staff marked it done or no-show.
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CalendarFeed(db.Model):
    """A staff member's private calendar feed: the secret is kept only as its hash, and
    revoking it (or making a new one) ends every old subscription at once."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
