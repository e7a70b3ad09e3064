"""Typed models, one module per domain; importing this package registers them all."""

from intake.models.activity import CALL_OUTCOMES, CLINICAL_DECISIONS, EVENT_KINDS, LeadEvent
from intake.models.api import API_SCOPES, ApiKey, IdempotencyRecord
from intake.models.article import ArticleLink
from intake.models.audit import AuditEvent, AuditHead
from intake.models.auth import TOKEN_PURPOSES, RecoveryCode, StaffSession, StaffToken
from intake.models.consent import Consent
from intake.models.consult import (
    BOOKED_BY,
    CONSULT_KINDS,
    CONSULT_STATUSES,
    AvailabilityException,
    AvailabilityWindow,
    CalendarFeed,
    Consult,
    ConsultType,
    ConsultTypeHost,
)
from intake.models.conversation import (
    CHANNELS,
    MESSAGE_KINDS,
    CapturedText,
    ConversationMessage,
    MailboxState,
    MessageAttachment,
    MessageTemplate,
)
from intake.models.eligibility import EligibilityResult
from intake.models.identity import (
    CONTACT_KINDS,
    PAIR_STATUSES,
    DuplicatePair,
    LeadContact,
    LeadMerge,
)
from intake.models.imports import IMPORT_STATUSES, ROW_PLANS, ROW_STATUSES, ImportJob, ImportRow
from intake.models.inquiry import Inquiry, ResumeToken
from intake.models.lead import CLOSED, PIPELINE, STATUSES, Lead
from intake.models.outbox import OutboxEvent
from intake.models.routing import (
    OFF_HOURS,
    STRATEGIES,
    RoutingDecision,
    RoutingRule,
    Team,
    TeamMember,
)
from intake.models.sends import SEND_STATUSES, CapturedEmail, Send, Suppression
from intake.models.settings import CadenceSetting
from intake.models.staff import ROLES, StaffUser
from intake.models.task import TASK_KINDS, TASK_STATUSES, StaffTask
from intake.models.webhook import DELIVERY_STATUSES, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ArticleLink",
    "API_SCOPES",
    "ApiKey",
    "IdempotencyRecord",
    "IMPORT_STATUSES",
    "ROW_PLANS",
    "ROW_STATUSES",
    "ImportJob",
    "ImportRow",
    "DELIVERY_STATUSES",
    "WebhookDelivery",
    "WebhookEndpoint",
    "BOOKED_BY",
    "CONSULT_KINDS",
    "CONSULT_STATUSES",
    "AvailabilityException",
    "AvailabilityWindow",
    "CalendarFeed",
    "Consult",
    "ConsultType",
    "ConsultTypeHost",
    "TASK_KINDS",
    "TASK_STATUSES",
    "StaffTask",
    "CHANNELS",
    "MESSAGE_KINDS",
    "CapturedText",
    "ConversationMessage",
    "MailboxState",
    "MessageAttachment",
    "MessageTemplate",
    "CALL_OUTCOMES",
    "CONTACT_KINDS",
    "PAIR_STATUSES",
    "DuplicatePair",
    "LeadContact",
    "LeadMerge",
    "CLINICAL_DECISIONS",
    "EVENT_KINDS",
    "TOKEN_PURPOSES",
    "AuditEvent",
    "AuditHead",
    "CadenceSetting",
    "LeadEvent",
    "RecoveryCode",
    "StaffSession",
    "StaffToken",
    "CLOSED",
    "SEND_STATUSES",
    "OFF_HOURS",
    "STRATEGIES",
    "CapturedEmail",
    "RoutingDecision",
    "RoutingRule",
    "Send",
    "Suppression",
    "Team",
    "TeamMember",
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
