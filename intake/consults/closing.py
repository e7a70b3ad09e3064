"""Withdrawing a lead's booked consult: when staff or the patient cancel it, and when the lead
is closed or erased. Builds on the models and the consult messages only, so the pipeline (which
the booking service builds on) can call it too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from intake.consults.messages import plan_cancelled, supersede
from intake.extensions import db
from intake.models import Consult, Lead


def booked_consult(lead_id: int) -> Consult | None:
    """The lead's booked consult (at most one), if any."""
    return db.session.scalar(
        select(Consult).where(Consult.lead_id == lead_id, Consult.status == "booked")
    )


def withdraw(consult: Consult, lead: Lead, now: datetime, *, notify: bool) -> None:
    """Cancel the consult (its calendar sequence moves on) and every message of its time still
    waiting; ``notify`` sends the patient the cancellation (not to someone who asked for no
    contact)."""
    consult.status = "cancelled"
    consult.sequence += 1
    consult.cancelled_at = consult.updated_at = now
    lead.consult_at = None
    lead.updated_at = now
    if notify:
        plan_cancelled(consult, now)
    else:
        supersede(consult, now)
