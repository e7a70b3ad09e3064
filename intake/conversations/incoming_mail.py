"""One email from the reply mailbox: what it is, whose it is, and recording it once.

=========== ========================================================================================
bounce      an RFC 3464 delivery status notification (``multipart/report;
            report-type=delivery-status``): each recipient it reports as failed for good (5.x.x)
            is suppressed; recorded on the lead whose email bounced, found through the returned
            message's Message-ID (the ledger row that sent it) or our reply address in it
auto_reply  RFC 3834 ``Auto-Submitted`` other than ``no``, ``Precedence: bulk|junk|list|
            auto_reply``, ``X-Autoreply``, ``X-Autorespond``: recorded, changes nothing
reply       anything else: recorded with its words and attachments, and a reply's consequences
=========== ========================================================================================

A reply or an auto-reply belongs to a lead by the token in our reply address among its
recipients (To, Cc, Delivered-To, X-Original-To), else by the ledger row its ``In-Reply-To`` or
``References`` names. An email whose token is not exactly one we made, or that names nothing of
ours, is recorded nowhere (the sweep counts it as unmatched).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import HeaderParser

import nh3

from intake.conversations.attachments import store_attachments
from intake.conversations.inbound import record_inbound
from intake.conversations.replies import lead_for_token, tokens_in
from intake.extensions import db
from intake.messaging.sends import PATIENT_CADENCES
from intake.messaging.unsubscribe import suppress_address
from intake.models import ConversationMessage, Lead, Send

RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To")
AUTOMATIC_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
# A reply's words are kept up to this many characters (a long quoted thread adds nothing).
BODY_LIMIT = 100_000
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_BREAKS = re.compile(r"<\s*/?\s*(?:br|p|div|li|tr|h[1-6]|blockquote)\b[^>]*>", re.IGNORECASE)
_HEADER_ERRORS = (ValueError, LookupError, IndexError, TypeError, AttributeError)


def record_email(raw: bytes, *, fallback_id: str, now: datetime) -> str:
    """Record one email from the reply mailbox; what it was: "reply", "auto_reply", "bounce",
    "duplicate" (recorded before) or "unmatched" (recorded nowhere).

    ``fallback_id`` stands for its Message-ID when it has none (``imap:<uidvalidity>:<uid>``)."""
    email = message_from_bytes(raw, policy=policy.default)
    external_id = (_message_ids(header(email, "Message-ID")) or [fallback_id])[0]
    if is_bounce(email):
        return _record_bounce(email, external_id, now)
    lead, answered = _match(email)
    if lead is None:
        return "unmatched"
    kind = "auto_reply" if is_automatic(email) else "reply"
    recorded = record_inbound(
        lead=lead, channel="email", kind=kind, external_id=external_id, now=now,
        subject=header(email, "Subject") or None, body=body_text(email), in_reply_to_id=answered,
    )  # fmt: skip
    if recorded is None:
        return "duplicate"
    if kind == "reply":
        store_attachments(recorded, email)
    return kind


def header(email: EmailMessage, name: str) -> str:
    """A header's decoded value, or "" when it is missing or too broken to read."""
    try:
        values = email.get_all(name) or []
        return ", ".join(str(value) for value in values)
    except _HEADER_ERRORS:
        return ""


def _message_ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value)


def is_bounce(email: EmailMessage) -> bool:
    return (
        email.get_content_type() == "multipart/report"
        and str(email.get_param("report-type") or "").lower() == "delivery-status"
    )


def is_automatic(email: EmailMessage) -> bool:
    """An automatic answer (out of office, a list's or a robot's), by RFC 3834 and custom."""
    submitted = header(email, "Auto-Submitted").partition(";")[0].strip().lower()
    precedence = header(email, "Precedence").strip().lower()
    return (
        (submitted != "" and submitted != "no")
        or precedence in AUTOMATIC_PRECEDENCE
        or email.get("X-Autoreply") is not None
        or email.get("X-Autorespond") is not None
    )


# --- Replies ----------------------------------------------------------------------------------


def _match(email: EmailMessage) -> tuple[Lead | None, int | None]:
    """The lead an email answers, and the outgoing message it answers when that is known.

    Our reply address decides when present: every token in it must be one we made, and all
    must name one lead; otherwise (a forged or mistyped token) it belongs nowhere."""
    recipients = [header(email, name) for name in RECIPIENT_HEADERS]
    send = _answered_send(_referenced_ids(email))
    if send is not None and not _to_patient(send):
        send = None  # a staff email's reply is not the patient's
    tokens = set(tokens_in([value for value in recipients if value]))
    if tokens:
        leads = {lead_for_token(token) for token in tokens}
        lead = leads.pop() if len(leads) == 1 else None
    else:
        lead = _lead_of(send)
    if lead is None:
        return None, None
    return lead, _outgoing_of(send) if send is not None and send.lead_id == lead.id else None


def _referenced_ids(email: EmailMessage) -> list[str]:
    """In-Reply-To first, then References from the newest back."""
    return [
        *_message_ids(header(email, "In-Reply-To")),
        *reversed(_message_ids(header(email, "References"))),
    ]


def _answered_send(ids: list[str]) -> Send | None:
    """The ledger row that sent one of these Message-IDs (the first named), if one of ours."""
    if not ids:
        return None
    found = {
        send.message_id: send
        for send in db.session.scalars(db.select(Send).where(Send.message_id.in_(ids[:20])))
    }
    return next((found[one] for one in ids if one in found), None)


def _to_patient(send: Send) -> bool:
    """Whether a ledger row sent a patient email (automatic, or written by staff)."""
    return send.cadence in PATIENT_CADENCES or _outgoing_of(send) is not None


def _lead_of(send: Send | None) -> Lead | None:
    lead = db.session.get(Lead, send.lead_id) if send is not None and send.lead_id else None
    return lead if lead is not None and lead.erased_at is None else None


def _outgoing_of(send: Send) -> int | None:
    """The thread's row for the message this ledger row sent, when staff wrote it."""
    return db.session.scalar(
        db.select(ConversationMessage.id).where(ConversationMessage.send_id == send.id)
    )


def body_text(email: EmailMessage) -> str:
    """The words of an email: its plain text, else its HTML reduced to text (never rendered)."""
    part = email.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, ValueError):  # an unknown or lying charset
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.strip()[:BODY_LIMIT]


def html_to_text(markup: str) -> str:
    """Text from HTML: every tag dropped (scripts and styles with their content), breaks kept."""
    spaced = _BREAKS.sub("\n", markup)
    cleaned = nh3.clean(
        spaced, tags=set(), clean_content_tags={"script", "style", "title", "head", "template"}
    )
    lines = (" ".join(line.split()) for line in html.unescape(cleaned).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- Bounces ----------------------------------------------------------------------------------


def _record_bounce(report: EmailMessage, external_id: str, now: datetime) -> str:
    """Suppress each address that failed for good, and record the bounce on its lead."""
    returned = _returned_headers(report)
    send = _answered_send(_message_ids(header(returned, "Message-ID")) if returned else [])
    lead = _lead_of(send) if send is not None and _to_patient(send) else None
    if send is None:  # the returned message is not one we can name: our reply address in it
        values = [header(report, name) for name in RECIPIENT_HEADERS]
        if returned is not None:
            values.append(header(returned, "Reply-To"))
        tokens = set(tokens_in([value for value in values if value]))
        lead = lead_for_token(tokens.pop()) if len(tokens) == 1 else None
    if send is None and lead is None:
        return "unmatched"
    # Trust the report for any address only when it returns a message we sent; through a
    # reply address alone (which the patient knows), only for the lead's own addresses.
    own = None if send is not None else {lead.email, lead.caregiver_email} - {None}
    for address in failed_recipients(report):
        if own is None or address in own:
            suppress_address(email=address, reason="bounce", now=now)
    if lead is None:  # a staff email bounced: suppressed, on no patient's thread
        return "bounce"
    recorded = record_inbound(
        lead=lead, channel="email", kind="bounce", external_id=external_id, now=now,
        subject=header(report, "Subject") or None,
        in_reply_to_id=_outgoing_of(send) if send is not None else None,
    )  # fmt: skip
    return "bounce" if recorded is not None else "duplicate"


def failed_recipients(report: EmailMessage) -> list[str]:
    """The addresses a delivery status report says failed permanently (Action failed, 5.x.x)."""
    failed = []
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in part.get_payload():
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            kind, _, address = recipient.partition(";")
            if action == "failed" and status.startswith("5.") and kind.strip().lower() == "rfc822":
                failed.append(address.strip().lower())
    return [address for address in failed if "@" in address]


def _returned_headers(report: EmailMessage) -> EmailMessage | None:
    """The headers of the message that bounced, as the report returns them (whole or headers
    only), or None when it returns neither."""
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            return part.get_payload(0)
        if kind == "text/rfc822-headers":
            return HeaderParser(policy=policy.default).parsestr(part.get_content())
    return None
