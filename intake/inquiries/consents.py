"""Consent in force: the newest record for a purpose wins (records are append-only)."""

from __future__ import annotations

from intake.extensions import db
from intake.models import Consent


def has_consent(*, lead_id: int, purpose: str) -> bool:
    """Whether the lead's latest record for ``purpose`` grants it."""
    granted = db.session.scalar(
        db.select(Consent.granted)
        .where(Consent.lead_id == lead_id, Consent.purpose == purpose)
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        .limit(1)
    )
    return bool(granted)
