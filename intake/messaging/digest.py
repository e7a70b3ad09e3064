"""The staff morning digest: one message per active staff member per working day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from intake.extensions import db
from intake.messaging.sends import schedule_send, send_key
from intake.models import StaffUser


def plan_digests(*, now: datetime) -> int:
    """Schedule today's digest for every active staff member; a second run adds nothing."""
    today = now.astimezone(ZoneInfo(current_app.config["INTAKE_CLINIC_TIME_ZONE"])).date()
    staff_ids = db.session.scalars(db.select(StaffUser.id).where(StaffUser.active.is_(True)))
    return sum(
        schedule_send(
            key=send_key("digest", staff_id, today.isoformat()),
            cadence="staff_digest",
            template="staff_digest",
            due_at=now,
            now=now,
            staff_user_id=staff_id,
        )
        for staff_id in staff_ids
    )
