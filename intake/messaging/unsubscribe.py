"""Unsubscribing and suppression: signed unsubscribe links, the consent withdrawal an
unsubscribe records, and addresses never to be emailed again (bounces, complaints)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from itsdangerous import BadData, URLSafeSerializer

from intake.extensions import db, dialect_insert
from intake.i18n import N_
from intake.links import link_serializer
from intake.messaging.sends import CONVERSATION, PATIENT_CADENCES, cancel_sends
from intake.models import Consent, Lead
from intake.models.sends import Suppression

# The sentence the unsubscribe page shows (in the page's language); the hash of this English
# source is stored with each withdrawal it records, its translations being of the same version.
UNSUBSCRIBE_TEXT = N_(
    "We will stop sending you emails about your inquiry. This includes reminders and "
    "follow-up messages."
)
UNSUBSCRIBE_TEXT_VERSION = "unsubscribe-2026.2"
UNSUBSCRIBE_PURPOSES = ("contact_email", "follow_up_emails", "resume_reminders")
_TEXT_HASH = hashlib.sha256(UNSUBSCRIBE_TEXT.encode()).hexdigest()


def _serializer() -> URLSafeSerializer:
    return link_serializer("intake.unsubscribe")


def unsubscribe_token(lead_id: int) -> str:
    """A signed, non-expiring token naming the lead, for unsubscribe links."""
    return _serializer().dumps(lead_id)


def read_unsubscribe_token(token: str) -> int | None:
    """The lead a genuine token names, or None for anything else."""
    if len(token) > 200:
        return None
    try:
        lead_id = _serializer().loads(token)
    except BadData:
        return None
    return lead_id if type(lead_id) is int and lead_id > 0 else None


def unsubscribe_lead(*, lead_id: int, now: datetime, source: str) -> None:
    """Withdraw email consent and cancel the lead's queued patient emails.

    Records a withdrawal for each email purpose whose latest record is not already one, so a
    repeated unsubscribe adds no rows; an unknown (e.g. erased) lead is left alone."""
    if db.session.get(Lead, lead_id) is None:
        return
    latest = _latest_consents(lead_id)
    withdrawn = {"granted": False, "source": source, "recorded_at": now, "inquiry_id": None}
    wording = {"text_version": UNSUBSCRIBE_TEXT_VERSION, "text_hash": _TEXT_HASH}
    db.session.add_all(
        Consent(lead_id=lead_id, purpose=purpose, **withdrawn, **wording)
        for purpose in UNSUBSCRIBE_PURPOSES
        if latest.get(purpose) is not False
    )
    # Every email still queued for the patient, a message staff wrote included.
    cancel_sends(
        lead_id=lead_id,
        cadences=(*PATIENT_CADENCES, CONVERSATION),
        channel="email",
        reason="unsubscribed",
        now=now,
    )


def _latest_consents(lead_id: int) -> dict[str, bool]:
    rows = db.session.execute(
        db.select(Consent.purpose, Consent.granted)
        .where(Consent.lead_id == lead_id, Consent.purpose.in_(UNSUBSCRIBE_PURPOSES))
        .order_by(Consent.recorded_at, Consent.id)
    )
    return {purpose: granted for purpose, granted in rows}


def suppress_address(*, email: str, reason: str, now: datetime) -> None:
    """Never email this address again (a permanent bounce or a complaint); once per address."""
    db.session.execute(
        dialect_insert()(Suppression)
        .values(email=email.strip().lower(), reason=reason, created_at=now)
        .on_conflict_do_nothing(index_elements=["email"])
    )


def is_suppressed(email: str) -> bool:
    """Whether this address must not be emailed."""
    query = db.select(Suppression.id).where(Suppression.email == email.strip().lower()).limit(1)
    return db.session.scalar(query) is not None
