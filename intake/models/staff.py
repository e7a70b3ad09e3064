"""Staff accounts: coordinators, clinical reviewers and admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

ROLES = ("admin", "coordinator", "clinician")


class StaffUser(db.Model):
    """A staff account; also Flask-Login's user, identified by its current session token."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(200))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last TOTP time step accepted, so a code cannot be replayed inside its window.
    totp_last_step: Mapped[int | None] = mapped_column()
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Availability for routing: working days (0 = Monday) and hours in their own time zone.
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    working_hours: Mapped[dict] = mapped_column(
        JSON, default=lambda: {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}
    )
    out_of_office_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(default=50)

    # Flask-Login: the identity in the cookie is the server-side session's token, set at
    # sign-in and by the loader, never the account id.
    session_token = None
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return self.session_token is not None

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def get_id(self) -> str | None:
        return self.session_token
