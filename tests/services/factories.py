"""Rows for ledger tests, built directly: a lead with its email consents, a draft inquiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.extensions import db
from intake.models import Consent, Inquiry, Lead

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 09:00 in New York, 23:00 in Tokyo
ADDRESS = "ada.byron@example.org"
EMAIL_PURPOSES = ("contact_email", "follow_up_emails", "resume_reminders")
LEAD = dict(
    filled_by="self", first_name="Ada", last_name="Byron", email=ADDRESS, phone="+12025550143",
    country="US", time_zone="America/New_York", time_zone_source="browser", created_at=NOW,
    last_inquiry_at=NOW, incomplete=False, status="new",
)  # fmt: skip


def make_lead(*, consents: tuple[str, ...] = EMAIL_PURPOSES, **fields) -> Lead:
    """A lead who granted these consents an hour before NOW."""
    lead = Lead(**{**LEAD, **fields})
    db.session.add(lead)
    db.session.flush()
    for purpose in consents:
        record_consent(lead, purpose, granted=True, at=NOW - timedelta(hours=1))
    return lead


def record_consent(lead: Lead, purpose: str, *, granted: bool, at: datetime) -> None:
    db.session.add(
        Consent(lead_id=lead.id, purpose=purpose, granted=granted, text_version="test",
                text_hash="0" * 64, source="inquiry_form", recorded_at=at)
    )  # fmt: skip
    db.session.flush()


def make_inquiry(lead: Lead, status: str = "draft") -> Inquiry:
    inquiry = Inquiry(
        lead=lead, submission_key=f"key-{lead.id}-{len(lead.inquiries)}", status=status,
        questionnaire_id="ms-inquiry", questionnaire_version="test", started_at=NOW,
    )  # fmt: skip
    db.session.add(inquiry)
    db.session.flush()
    return inquiry
