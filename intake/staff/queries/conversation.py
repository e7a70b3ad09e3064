"""The lead's conversation as staff read it: one thread of email and text, in and out, oldest
first (newest last), each message opened, with its delivery state and who wrote it.

One query whatever the thread's length."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import select

from intake.conversations.inbound import open_text
from intake.crypto import DecryptionError
from intake.display import catalogue_words, label
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.i18n import gettext as _
from intake.leads.timeline import Entry
from intake.models import ConversationMessage, MessageAttachment, Send

# A ledger status as the thread says it; "bounced" and "replied" come from what came back.
SENT_STATES = {"scheduled": "queued", "sending": "queued", "sent": "sent", "dead": "failed",
               "cancelled": "not_sent"}  # fmt: skip


@dataclass
class ThreadItem:
    message: ConversationMessage
    state: str  # out: queued, sent, failed, not_sent, bounced, replied; in: its kind
    heading: Markup = Markup()  # "To the patient by email, from Ana" (see _heading)
    author: str | None = None  # the member of staff who wrote it
    reason: str | None = None  # why it was not sent (a stop reason code)
    subject: str | None = None
    body: str | None = None
    unreadable: bool = False
    attachments: list[AttachmentView] = field(default_factory=list)

    @property
    def unread(self) -> bool:
        return self.message.kind == "reply" and self.message.read_at is None


def _state(message: ConversationMessage, status: str | None, answers: Mapping[int, str]) -> str:
    if message.direction == "in":
        return message.kind
    state = SENT_STATES.get(status or "", "queued")
    if state == "sent" and message.id in answers:
        return "bounced" if answers[message.id] == "bounce" else "replied"
    return state


def _heading(direction: str, channel: str, author: str | None) -> Markup:
    """Who wrote to whom, and how: "To the patient by email, from Ana", "From the patient by
    text message". Escaped as the template would (a name is text, not markup)."""
    by = label(channel, "channel")
    if direction != "out":
        return catalogue_words(_("From the patient by %(channel)s")) % {"channel": by}
    heading = catalogue_words(_("To the patient by %(channel)s")) % {"channel": by}
    if author:
        heading += catalogue_words(", ") + catalogue_words(_("from %(name)s")) % {"name": author}
    return heading


def _open(item: ThreadItem) -> None:
    try:
        item.subject = open_text(item.message, "subject")
        item.body = open_text(item.message, "body")
    except DecryptionError:
        item.unreadable = True


@dataclass(frozen=True)
class AttachmentView:
    """An attachment as the thread lists it: never its bytes (they load only to download)."""

    id: int
    content_type: str
    size: int
    refused: str | None


def build_thread(lead_id: int, names: Mapping[int, str]) -> list[ThreadItem]:
    """The lead's thread, newest last; ``names`` are staff names by id, already loaded. Each
    heading is translated once per kind of message, not once per message.

    One statement: each message with its ledger row and, joined, its attachments' facts (a
    message with two attachments comes twice)."""
    rows = db.session.execute(
        select(
            ConversationMessage,
            Send.status,
            Send.finished_reason,
            MessageAttachment.id,
            MessageAttachment.content_type,
            MessageAttachment.size,
            MessageAttachment.refused,
        )
        .outerjoin(Send, Send.id == ConversationMessage.send_id)
        .outerjoin(MessageAttachment, MessageAttachment.message_id == ConversationMessage.id)
        .where(ConversationMessage.lead_id == lead_id)
        .order_by(ConversationMessage.at, ConversationMessage.id, MessageAttachment.id)
    ).all()
    # What came back about each outgoing message: a bounce outranks a reply.
    answers: dict[int, str] = {}
    for message, *_rest in rows:
        if message.in_reply_to_id and answers.get(message.in_reply_to_id) != "bounce":
            answers[message.in_reply_to_id] = message.kind
    items: dict[int, ThreadItem] = {}
    headings: dict[tuple[str, str, str | None], Markup] = {}  # a few, whatever the length
    for message, status, reason, *attachment in rows:
        item = items.get(message.id)
        if item is None:
            author = names.get(message.staff_user_id) if message.staff_user_id else None
            key = (message.direction, message.channel, author)
            if key not in headings:
                headings[key] = _heading(*key)
            item = items[message.id] = ThreadItem(
                message=message,
                state=_state(message, status, answers),
                heading=headings[key],
                author=author,
                reason=reason if status == "cancelled" else None,
            )
            _open(item)
        if attachment[0] is not None:
            item.attachments.append(AttachmentView(*attachment))
    return list(items.values())


def timeline_entries(items: list[ThreadItem]) -> list[Entry]:
    """What came back, for the lead's timeline (what went out is there as its ledger row): a
    reply, an automatic answer, a bounce or a keyword by its kind, and each attachment that was
    not kept and why, so nothing is lost silently. Never the words."""
    entries = []
    for item in items:
        message = item.message
        if message.direction != "in":
            continue
        what = label(message.kind, "message_state")
        channel = label(message.channel, "channel")
        title = _l("%(what)s by %(channel)s", what=what, channel=channel)
        entries.append(Entry(message.at, f"message-{message.kind}", title))
        for attachment in item.attachments:
            if attachment.refused:
                why = label(attachment.refused, "attachment_refused")
                title = _l("An attachment was not kept: %(why)s", why=why)
                detail = f"{attachment.content_type}, {attachment.size:,} bytes"
                entries.append(Entry(message.at, "attachment-refused", title, detail=detail))
    return entries
