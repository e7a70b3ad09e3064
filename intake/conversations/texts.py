"""Texts that come in over the provider's webhook: whose they are, and what a keyword does.

A text is matched to a lead by the number it came from (the patient's or the caregiver's phone,
E.164), never a merged or erased lead. The whole message, trimmed and in any case, may be a
keyword, as the carriers' rules have it: STOP (and its synonyms) withdraws consent to texts and
cancels every text still queued; START gives it again; HELP is answered with the clinic's name
and how to stop. Anything else is a reply. Each text is recorded once by its provider id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from intake.conversations.inbound import record_inbound
from intake.extensions import db
from intake.formats import initial_capital
from intake.i18n import DEFAULT, N_, supported
from intake.inquiries.contacts import InvalidContact, normalise_phone
from intake.messaging.sends import cancel_sends
from intake.messaging.subjects import clinic_name
from intake.models import Consent, ConversationMessage, Lead

KEYWORDS = {
    "stop": frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
    | frozenset({"parar", "alto", "baja"}),
    "start": frozenset({"start", "yes", "unstop", "alta"}),
    "help": frozenset({"help", "info", "ayuda"}),
}
TEXT_PURPOSE = "contact_text"
KEYWORD_SOURCE = "text_keyword"
# What the HELP answer tells the patient about the keywords; the hash of this English source is
# stored with each consent change a keyword records, its translations being of the same version.
KEYWORD_TEXT = N_("Reply STOP to get no more texts from us. Reply START to get them again.")
KEYWORD_TEXT_VERSION = "text-keywords-2026.2"
_KEYWORD_HASH = hashlib.sha256(KEYWORD_TEXT.encode()).hexdigest()
HELP_TEXT = N_("%(clinic)s: we text you about your inquiry.")


@dataclass(frozen=True)
class InboundText:
    """What became of a text from a known number: its lead, its kind, and whether it was new
    (False when the provider sent the same message again)."""

    lead_id: int
    kind: str
    language: str
    recorded: bool


def keyword_kind(body: str) -> str:
    """The keyword's kind ("stop", "start" or "help") when the whole message is one of its
    words, else "reply"."""
    word = body.strip().casefold()
    return next((kind for kind, words in KEYWORDS.items() if word in words), "reply")


def lead_for_number(number: str) -> Lead | None:
    """The lead a text from ``number`` belongs to: of the live leads with it as their own or
    their caregiver's phone, the one last texted by staff or cadence, else the one whose latest
    inquiry is newest."""
    try:
        number = normalise_phone(number, None)
    except InvalidContact:
        return None
    last_text = (
        select(func.max(ConversationMessage.at))
        .where(
            ConversationMessage.lead_id == Lead.id,
            ConversationMessage.direction == "out",
            ConversationMessage.channel == "text",
        )
        .correlate(Lead)
        .scalar_subquery()
    )
    return db.session.scalar(
        select(Lead)
        .where(
            or_(Lead.phone == number, Lead.caregiver_phone == number),
            Lead.merged_into_id.is_(None),
            Lead.status != "merged",
            Lead.erased_at.is_(None),
        )
        .order_by(last_text.desc().nulls_last(), Lead.last_inquiry_at.desc(), Lead.id.desc())
        .limit(1)
    )


def receive_text(*, sender: str, body: str, external_id: str, now: datetime) -> InboundText | None:
    """Record a text from ``sender`` on its lead with its keyword's consequences; None when no
    lead has that number (nothing is recorded)."""
    lead = lead_for_number(sender)
    if lead is None:
        return None
    kind = keyword_kind(body)
    message = record_inbound(
        lead=lead,
        channel="text",
        kind=kind,
        external_id=external_id,
        now=now,
        body=body,
        in_reply_to_id=_last_text_to(lead.id) if kind == "reply" else None,
    )
    if message is not None and kind in ("stop", "start"):
        _set_text_consent(lead.id, granted=kind == "start", now=now)
    if message is not None and kind == "stop":
        cancel_sends(lead_id=lead.id, reason="text_stop", now=now, channel="text")
    language = supported(lead.language) or DEFAULT
    return InboundText(lead_id=lead.id, kind=kind, language=language, recorded=message is not None)


def _last_text_to(lead_id: int) -> int | None:
    """The newest text sent to the lead: the one a reply most likely answers."""
    return db.session.scalar(
        select(ConversationMessage.id)
        .where(
            ConversationMessage.lead_id == lead_id,
            ConversationMessage.direction == "out",
            ConversationMessage.channel == "text",
        )
        .order_by(ConversationMessage.at.desc(), ConversationMessage.id.desc())
        .limit(1)
    )


def _set_text_consent(lead_id: int, *, granted: bool, now: datetime) -> None:
    """Record the change unless the latest record already says so (a second STOP adds none)."""
    latest = db.session.scalar(
        select(Consent.granted)
        .where(Consent.lead_id == lead_id, Consent.purpose == TEXT_PURPOSE)
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        .limit(1)
    )
    if latest is granted:
        return
    db.session.add(
        Consent(
            lead_id=lead_id,
            inquiry_id=None,
            purpose=TEXT_PURPOSE,
            granted=granted,
            text_version=KEYWORD_TEXT_VERSION,
            text_hash=_KEYWORD_HASH,
            source=KEYWORD_SOURCE,
            recorded_at=now,
        )
    )


def help_reply(language: str) -> str:
    """The answer to HELP in ``language``: the clinic's name and how to stop, nothing else."""
    with force_locale(supported(language) or DEFAULT):
        return f"{_(HELP_TEXT, clinic=initial_capital(clinic_name()))} {_(KEYWORD_TEXT)}"
