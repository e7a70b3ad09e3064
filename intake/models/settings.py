"""Settings an admin changes in the workspace, stored over the defaults the code ships with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow


class CadenceSetting(db.Model):
    """An admin's override of one cadence in cadences.yaml: on or off, its step delays (no more
    steps than the file has, since each step has its own email), and quiet hours."""

    __tablename__ = "cadence_settings"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    steps: Mapped[list] = mapped_column(JSON)
    quiet_hours: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
