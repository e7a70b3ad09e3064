"""Erasure and retention: removing a person's contact details, answers, notes and conversation
for good.

What stays is what the clinic must keep and what names nobody: the lead row and its ids, the
status history, consents given or withdrawn (the proof of what was agreed), eligibility
outcomes without their reasons, the shape of the conversation (who wrote when, by which
channel, and its delivery state, without subjects, words or attachments), and the audit trail.
The lead's reply address stops naming it, and the mail and texts kept locally for its addresses
and numbers go. Erasing twice changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from intake.audit.service import record_audit
from intake.extensions import db, encryption
from intake.inquiries.contacts import InvalidContact, normalise_phone
from intake.leads.pipeline import withdraw_for_closed
from intake.models import (
    CLOSED,
    CapturedEmail,
    CapturedText,
    ConversationMessage,
    EligibilityResult,
    Inquiry,
    Lead,
    LeadContact,
    LeadEvent,
    MessageAttachment,
    Send,
    StaffTask,
    StaffUser,
)
from intake.models.inquiry import ResumeToken

ERASED_NAME = "Erased"
# Contact and caregiver columns: names keep a placeholder (NOT NULL), the rest become NULL.
_BLANKED = dict(
    first_name=ERASED_NAME,
    last_name=ERASED_NAME,
    email=None,
    phone=None,
    postal_code=None,
    region=None,
    preferred_contact_method=None,
    preferred_contact_time=None,
    caregiver_first_name=None,
    caregiver_last_name=None,
    caregiver_relationship=None,
    caregiver_email=None,
    caregiver_phone=None,
)


def erasure_requests(*, limit: int = 200) -> list[Lead]:
    """Leads whose erasure was requested and not yet done, oldest request first."""
    return list(
        db.session.scalars(
            select(Lead)
            .where(Lead.erasure_requested_at.is_not(None), Lead.erased_at.is_(None))
            .order_by(Lead.erasure_requested_at, Lead.id)
            .limit(limit)
        )
    )


def erase_lead(*, lead: Lead, actor: StaffUser | None, now: datetime) -> bool:
    """Blank the lead's contact details and drop its answers, reasons and notes; False when it
    was already erased. The caller audits and commits."""
    if lead.erased_at is not None:
        return False
    addresses, numbers = _contact_points(lead)
    for column, value in _BLANKED.items():
        setattr(lead, column, value)
    lead.erased_at = now
    lead.reply_token = None  # a later reply to the old address matches nothing
    data = {}
    if lead.status not in CLOSED:  # nobody may contact, remind about or route an erased lead
        data = {"from": lead.status, "to": "do_not_contact"}
        lead.status = "do_not_contact"
    _drop_answers(lead.id)
    _drop_reasons(lead.id)
    # Every contact detail ever given, and any moved here by a merge, goes with the columns.
    db.session.execute(delete(LeadContact).where(LeadContact.lead_id == lead.id))
    db.session.execute(
        update(LeadEvent)
        .where(LeadEvent.lead_id == lead.id)
        .values(text_sealed=None)
        .execution_options(synchronize_session=False)
    )
    _drop_conversation(lead.id)
    withdraw_for_closed(lead, now, notify=False)
    db.session.execute(
        update(StaffTask)
        .where(StaffTask.lead_id == lead.id)
        .values(note_sealed=None)
        .execution_options(synchronize_session=False)
    )
    _stop_mail(lead.id, addresses, now)
    _drop_captured_texts(numbers)
    actor_id = actor.id if actor is not None else None
    db.session.add(LeadEvent(lead_id=lead.id, at=now, actor_id=actor_id, kind="erased", data=data))
    db.session.flush()
    return True


def _contact_points(lead: Lead) -> tuple[list[str], list[str]]:
    """Every email address and phone number (E.164) ever given for the lead, moved here by a
    merge included: the local capture of mail and texts is kept by these."""
    given = db.session.execute(
        select(LeadContact.kind, LeadContact.value).where(
            LeadContact.lead_id == lead.id,
            LeadContact.kind.in_(("email", "caregiver_email", "phone", "caregiver_phone")),
        )
    ).all()
    addresses = {lead.email, lead.caregiver_email}
    addresses.update(value for kind, value in given if kind.endswith("email"))
    numbers = set()
    for raw in (lead.phone, lead.caregiver_phone,
                *(value for kind, value in given if kind.endswith("phone"))):  # fmt: skip
        if not raw:
            continue
        numbers.add(raw)
        try:
            numbers.add(normalise_phone(raw, lead.country))
        except InvalidContact:
            continue
    return sorted(a for a in addresses if a), sorted(numbers)


def _drop_conversation(lead_id: int) -> None:
    """The thread keeps its shape; its subjects and words go, and its attachments entirely."""
    messages = select(ConversationMessage.id).where(ConversationMessage.lead_id == lead_id)
    db.session.execute(
        delete(MessageAttachment)
        .where(MessageAttachment.message_id.in_(messages))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ConversationMessage)
        .where(ConversationMessage.lead_id == lead_id)
        .values(subject_sealed=None, body_sealed=None)
        .execution_options(synchronize_session=False)
    )


def _drop_captured_texts(numbers: list[str]) -> None:
    if numbers:
        db.session.execute(
            delete(CapturedText)
            .where(CapturedText.recipient.in_(numbers))
            .execution_options(synchronize_session=False)
        )


def _drop_answers(lead_id: int) -> None:
    inquiries = select(Inquiry.id).where(Inquiry.lead_id == lead_id)
    db.session.execute(
        update(Inquiry)
        .where(Inquiry.lead_id == lead_id)
        .values(answers_sealed=None, referrer=None, landing_page=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(ResumeToken)
        .where(ResumeToken.inquiry_id.in_(inquiries))
        .execution_options(synchronize_session=False)
    )


def _drop_reasons(lead_id: int) -> None:
    """The triggered rules name health conditions; the column is NOT NULL, so each becomes a
    sealed empty list (the outcome itself stays, for the figures)."""
    results = db.session.scalars(
        select(EligibilityResult).where(EligibilityResult.lead_id == lead_id)
    )
    for result in results:
        result.triggered_sealed = encryption.keyring.seal_json([], context=result.triggered_context)


def _stop_mail(lead_id: int, addresses: list[str], now: datetime) -> None:
    db.session.execute(
        update(Send)
        .where(Send.lead_id == lead_id, Send.status.in_(("scheduled", "dead")))
        .values(status="cancelled", finished_reason="erased", claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if addresses:
        db.session.execute(
            delete(CapturedEmail)
            .where(or_(*(CapturedEmail.recipient == address for address in addresses)))
            .execution_options(synchronize_session=False)
        )


def purge_expired(*, now: datetime, retention_days: int, limit: int = 200) -> int:
    """Erase up to ``limit`` closed leads untouched for the retention period, auditing each;
    returns how many (the caller commits and calls again while it gets ``limit``)."""
    cutoff = now - timedelta(days=retention_days)
    query = (
        select(Lead)
        .where(Lead.status.in_(CLOSED), Lead.erased_at.is_(None), Lead.updated_at < cutoff)
        .order_by(Lead.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":  # two overlapping runs take different leads
        query = query.with_for_update(skip_locked=True)
    leads = list(db.session.scalars(query))
    for lead in leads:
        erase_lead(lead=lead, actor=None, now=now)
        record_audit(
            action="lead.erased",
            now=now,
            lead_ids=[lead.id],
            target=f"lead:{lead.id}",
            detail={"reason": "retention", "retention_days": retention_days},
        )
    return len(leads)
