"""Staff writing to a patient: check, record, and hand the message to the send ledger.

A message staff write is a thread row (its words sealed) and a ledger row keyed by that row, so
it goes at most once, by the same worker path and after the same checks as every automatic
message: consent for its channel, an unsubscribe or STOP, suppression and do-not-contact are
checked here, so staff hear at once why it cannot go, and again at send time
(``send_time_stop``), so nothing that arrived while it waited is overlooked. A text waits for the
patient's daytime; an email may go at once. Sending counts as a contact attempt: a new lead
moves to ``attempting_contact``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from intake.conversations.inbound import open_text, seal_text
from intake.conversations.templates import normalise, problems
from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.inquiries.consents import has_consent
from intake.leads.pipeline import TransitionError, move_status
from intake.messaging.followups import patient_daytime
from intake.messaging.mail import patient_address
from intake.messaging.sends import CONVERSATION, schedule_send, send_key
from intake.messaging.texts import patient_number, segments
from intake.messaging.unsubscribe import is_suppressed
from intake.models import CHANNELS, ConversationMessage, Lead, Send, StaffUser

CADENCE = CONVERSATION
CHANNEL_CONSENT = {"email": "contact_email", "text": "contact_text"}
# What the patient asked for, or the state of the lead, that stops a message.
STOP_WORDS: dict[str, LazyText] = {
    "do_not_contact": _l("The patient asked not to be contacted."),
    "merged": _l("This lead was merged into another lead; write from that one."),
    "erased": _l("This lead's contact details were erased."),
    "no_email": _l("The lead has no email address."),
    "no_phone": _l("The lead has no phone number for texts."),
    "no_consent_email": _l("The patient has not agreed to emails, or has unsubscribed."),
    "no_consent_text": _l("The patient has not agreed to text messages, or has sent STOP."),
    "suppressed": _l("Emails to this address bounced or were refused; it is not written to."),
}


class MessageError(TransitionError):
    """A message that cannot be sent; the words say why, next to ``field``."""


@dataclass(frozen=True)
class Draft:
    """What the patient will receive, as staff preview it."""

    channel: str
    recipient: str
    subject: str | None
    body: str
    segments: int | None  # texts: the parts the provider will count

    @property
    def digest(self) -> str:
        """Names this exact draft: a send must match the preview the sender saw."""
        parts = (self.channel, self.recipient, self.subject or "", self.body)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def recipient(lead: Lead, channel: str) -> str | None:
    return patient_address(lead)[0] if channel == "email" else patient_number(lead)


def stop(lead: Lead, channel: str) -> str | None:
    """Why a message on ``channel`` may not go to this lead now; None when it may."""
    if lead.status == "do_not_contact":
        return "do_not_contact"
    if lead.status == "merged":
        return "merged"
    if lead.erased_at is not None:
        return "erased"
    to = recipient(lead, channel)
    if to is None:
        return "no_email" if channel == "email" else "no_phone"
    if not has_consent(lead_id=lead.id, purpose=CHANNEL_CONSENT[channel]):
        return f"no_consent_{channel}"
    if channel == "email" and is_suppressed(to):
        return "suppressed"
    return None


def available_channels(lead: Lead) -> dict[str, str | None]:
    """Each channel and why it cannot be used now (None: it can)."""
    return {channel: stop(lead, channel) for channel in CHANNELS}


def draft(*, lead: Lead, channel: str, subject: str | None, body: str) -> Draft:
    """The message as the patient will receive it, or a MessageError saying what is wrong: the
    same limits as a template's (length, parts, no placeholder left unfilled)."""
    if channel not in CHANNELS:
        raise MessageError(_l("Choose email or text message."), field="channel")
    reason = stop(lead, channel)
    if reason is not None:
        raise MessageError(STOP_WORDS[reason], field="channel")
    subject = subject if channel == "email" else None  # a text has none: left-over words go
    errors = problems(channel=channel, language=lead.language, subject=subject, body=body)
    if errors:
        field, messages = next(iter(errors.items()))
        raise MessageError(messages[0], field=field)
    subject, body = normalise(channel, subject, body)
    return Draft(
        channel=channel,
        recipient=recipient(lead, channel),
        subject=subject,
        body=body,
        segments=segments(body) if channel == "text" else None,
    )


def queue_message(
    *,
    lead: Lead,
    message: Draft,
    actor: StaffUser,
    now: datetime,
    template: tuple[str, int] | None = None,
) -> ConversationMessage:
    """Record the message on the thread and hand it to the ledger, due now (a text waits for
    the patient's daytime at send time). ``template`` is the (key, version) it was written from.
    """
    row = ConversationMessage(
        lead_id=lead.id,
        at=now,
        direction="out",
        channel=message.channel,
        kind="message",
        staff_user_id=actor.id,
        template_key=template[0] if template else None,
        template_version=template[1] if template else None,
        segments=message.segments,
    )
    db.session.add(row)
    db.session.flush()
    row.subject_sealed = seal_text(row, "subject", message.subject)
    row.body_sealed = seal_text(row, "body", message.body)
    schedule_send(
        key=send_key(lead.id, CADENCE, row.id),
        cadence=CADENCE,
        template=CADENCE,
        channel=message.channel,
        due_at=now,
        now=now,
        lead_id=lead.id,
        staff_user_id=actor.id,
    )
    row.send_id = db.session.scalar(
        db.select(Send.id).where(Send.key == send_key(lead.id, CADENCE, row.id))
    )
    if lead.status == "new":  # a contact attempt, like a call nobody answered
        move_status(
            lead=lead, to="attempting_contact", actor=actor, now=now, data={"cause": "message"}
        )
    lead.updated_at = now
    return row


def message_for_send(send: Send) -> ConversationMessage | None:
    return db.session.scalar(
        db.select(ConversationMessage).where(ConversationMessage.send_id == send.id)
    )


def sent_words(send: Send) -> tuple[str | None, str] | None:
    """The subject and body of a staff message's ledger row, opened; None when it has none
    (the lead was erased, say)."""
    row = message_for_send(send)
    if row is None or not row.body_sealed:
        return None
    return open_text(row, "subject"), open_text(row, "body")


def quiet_until(send: Send, now: datetime) -> datetime | None:
    """A later time for a text that has come due in the patient's quiet hours; an email goes."""
    if send.channel != "text" or send.lead_id is None:
        return None
    later = patient_daytime(now, db.session.get(Lead, send.lead_id).time_zone)
    return later if later > now else None


def send_time_stop(send: Send) -> str | None:
    """Checked again at send time: anything that arrived while the message waited."""
    lead = db.session.get(Lead, send.lead_id) if send.lead_id else None
    if lead is None:
        return "no_recipient"
    reason = stop(lead, send.channel)
    if reason in ("no_email", "no_phone"):
        return "no_recipient"
    if reason in ("no_consent_email", "no_consent_text"):
        return "no_consent"
    return reason
