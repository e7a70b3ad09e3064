"""Automatic messages by text, for patients who prefer texts and agreed to them.

A cadence may go by text instead of email only when its consent is contact by email, so that a
text needs the matching consent to texts (the confirmation). The other cadences' consents name
emails ("occasional follow-up emails", emailed reminders), so they go by email or not at all.
A text greets by first name and says nothing of the answers, like every patient message.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from intake.config import for_language
from intake.conversations.templates import addressee_first_name
from intake.extensions import db
from intake.i18n import DEFAULT, N_, supported
from intake.inquiries.consents import has_consent
from intake.messaging.cadences import Cadence
from intake.messaging.subjects import clinic_name
from intake.messaging.texts import patient_number
from intake.models import Lead, Send

# A cadence's consent → the consent the same message needs to go by text instead.
TEXT_INSTEAD = {"contact_email": "contact_text"}
CADENCE_TEXTS = {
    "confirmation": N_(
        "Hello %(name)s, this is %(clinic)s. We have your inquiry and will contact you "
        "%(response_time)s. Reply STOP to get no more texts."
    ),
}


def consent_for(cadence: Cadence, channel: str) -> str | None:
    """The consent a message of ``cadence`` needs on ``channel``."""
    if channel == "text" and cadence.consent:
        return TEXT_INSTEAD.get(cadence.consent, cadence.consent)
    return cadence.consent


def cadence_channel(lead: Lead, cadence: Cadence) -> str:
    """The text channel when the patient prefers texts, agreed to them, has a number, and this
    cadence may go by text; else email."""
    if (
        cadence.template in CADENCE_TEXTS
        and cadence.consent in TEXT_INSTEAD
        and lead.preferred_contact_method == "text"
        and patient_number(lead) is not None
        and has_consent(lead_id=lead.id, purpose=TEXT_INSTEAD[cadence.consent])
    ):
        return "text"
    return "email"


def cadence_text(send: Send) -> tuple[None, str] | None:
    """The words of an automatic text (no subject), in the lead's language; None when it has
    no lead or no text of its own."""
    lead = db.session.get(Lead, send.lead_id) if send.lead_id else None
    if lead is None or send.template not in CADENCE_TEXTS:
        return None
    name = addressee_first_name(lead, "text")
    language = supported(lead.language) or DEFAULT
    with force_locale(language):
        words = _(
            CADENCE_TEXTS[send.template],
            name=name,
            clinic=clinic_name(),
            response_time=for_language(current_app.config, "INTAKE_RESPONSE_TIME", language),
        )
    return None, words
