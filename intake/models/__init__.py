"""Typed models, one module per domain; importing this package registers them all."""

from intake.models.consent import Consent
from intake.models.eligibility import EligibilityResult
from intake.models.inquiry import Inquiry, ResumeToken
from intake.models.lead import CLOSED, PIPELINE, STATUSES, Lead
from intake.models.outbox import OutboxEvent
from intake.models.staff import ROLES, StaffUser

__all__ = [
    "CLOSED",
    "PIPELINE",
    "ROLES",
    "STATUSES",
    "Consent",
    "EligibilityResult",
    "Inquiry",
    "Lead",
    "OutboxEvent",
    "ResumeToken",
    "StaffUser",
]
