"""Recording what a patient (or their mail server) sends back, once, with its consequences.

Every way in (the reply mailbox over IMAP, the text provider's webhook) ends here. A message is
recorded at most once, by its external id (a Message-ID, the provider's message id), so reading
the same mailbox twice or a webhook delivered twice adds nothing. What a message does:

============ ====================================================================================
reply        sealed on the lead's thread; counts as contact (a new or attempting lead moves to
             ``contacted``); stops the nurture cadence; tells the owner, with a link only
auto_reply   recorded (an out-of-office says nothing of the patient's wishes); changes nothing
bounce       recorded; the caller suppresses the address
stop/start/  recorded; the caller changes the text-message consent
help
============ ====================================================================================
"""

from __future__ import annotations

from datetime import datetime

from intake.extensions import db, dialect_insert, encryption
from intake.leads.pipeline import mark_contacted, move_status
from intake.messaging.sends import cancel_sends, schedule_send, send_key
from intake.models import ConversationMessage, Lead
from intake.webhooks import emit as webhook_events

# A reply from a lead in one of these statuses moves it on: the patient has been reached.
REACHED_FROM = ("new", "attempting_contact")


def message_context(message: ConversationMessage, part: str) -> str:
    """What a sealed part of a message is bound to, so it cannot be moved to another row."""
    return f"conversation_messages:{message.id}:{part}"


def seal_text(message: ConversationMessage, part: str, value: str | None) -> str | None:
    """``value`` sealed for ``part`` ("subject" or "body") of a flushed message."""
    if value is None:
        return None
    return encryption.keyring.seal(value.encode(), context=message_context(message, part))


def open_text(message: ConversationMessage, part: str) -> str | None:
    """The opened ``part`` of a message, or None when it has none."""
    sealed = message.subject_sealed if part == "subject" else message.body_sealed
    if not sealed:
        return None
    return encryption.keyring.open(sealed, context=message_context(message, part)).decode()


def record_inbound(
    *,
    lead: Lead,
    channel: str,
    kind: str,
    external_id: str,
    now: datetime,
    body: str | None = None,
    subject: str | None = None,
    in_reply_to_id: int | None = None,
) -> ConversationMessage | None:
    """Record one incoming message on ``lead``; None when this external id was recorded before.

    Its consequences for a reply (contact, nurture stopped, the owner told) happen here; the
    caller handles a bounce's suppression and a keyword's consent."""
    inserted = db.session.execute(
        dialect_insert()(ConversationMessage)
        .values(
            lead_id=lead.id,
            at=now,
            direction="in",
            channel=channel,
            kind=kind,
            external_id=external_id[:255],
            in_reply_to_id=in_reply_to_id,
        )
        .on_conflict_do_nothing(index_elements=["external_id"])
        .returning(ConversationMessage.id)
    ).first()
    if inserted is None:
        return None
    message = db.session.get(ConversationMessage, inserted[0])
    message.subject_sealed = seal_text(message, "subject", subject)
    message.body_sealed = seal_text(message, "body", body)
    if kind == "reply":
        _replied(lead, message, now)
        webhook_events.record_reply(message=message, now=now)
    return message


def _replied(lead: Lead, message: ConversationMessage, now: datetime) -> None:
    """A real reply: the patient has been reached, and the owner should know."""
    mark_contacted(lead, now)
    if lead.status in REACHED_FROM:
        move_status(lead=lead, to="contacted", actor=None, now=now, data={"cause": "reply"})
    else:
        cancel_sends(lead_id=lead.id, cadences=("nurture",), reason="replied", now=now)
    if lead.owner_id is not None:
        schedule_send(
            key=send_key(lead.id, "staff_reply", message.id),
            cadence="staff_reply",
            template="staff_reply",
            due_at=now,
            now=now,
            lead_id=lead.id,
            staff_user_id=lead.owner_id,
        )
