"""Message templates staff send to a patient, by email or text, in the patient's language.

The built-in words are version 0 (``templates.yaml`` beside this module); an admin's edit adds a
version (a ``MessageTemplate`` row) and the newest one of a (key, channel, language) is in force.
Placeholders are the safe fields only (``placeholders``): first name, clinic name, the staff
member's first name, and two links; a template that names a health answer is refused.

The lead page uses ``choices``, ``current``, ``values_for``, ``render``, ``check`` and
``DECISION_TEMPLATES``; the admin pages ``save_version``, ``problems`` and ``sample_values``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import yaml
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from intake.config import for_language
from intake.consults import links as booking_links
from intake.conversations.placeholders import TemplateError, check, fill
from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.i18n import LANGUAGES
from intake.links import absolute_url
from intake.messaging.mail import patient_address
from intake.messaging.texts import Segments, measure
from intake.models import ConsultType, Lead, MessageTemplate, StaffUser
from intake.models.conversation import CHANNELS

DEFAULTS = Path(__file__).with_name("templates.yaml")
KEYS = (
    "first_reply",
    "could_not_reach",
    "needs_more_information",
    "not_candidate",
    "consult_invitation",
)
LABELS = {
    "first_reply": _l("First reply"),
    "could_not_reach": _l("Could not reach you"),
    "needs_more_information": _l("Needs more information"),
    "not_candidate": _l("Not a candidate at this time"),
    "consult_invitation": _l("Invitation to a consult"),
}
CHANNEL_LABELS = {"email": _l("Email"), "text": _l("Text message")}
# A clinical decision (Lead.clinical_decision) and the template that tells the patient.
DECISION_TEMPLATES = {
    "needs_more_information": "needs_more_information",
    "not_candidate": "not_candidate",
    "candidate": "consult_invitation",
}
SUBJECT_MAX = 150
EMAIL_BODY_MAX = 5000
TEXT_BODY_MAX = 1000
TEXT_MAX_SEGMENTS = 3
# Made up, never a real lead or colleague (as in intake.messaging.previews.SAMPLE_CONTEXT).
SAMPLE_NAMES = {"first_name": "Sample", "staff_first_name": "Sample"}


@dataclass(frozen=True)
class TemplateText:
    key: str
    channel: str
    language: str
    version: int  # 0: the built-in default
    subject: str | None
    body: str


# --- the templates ----------------------------------------------------------------------------


@cache
def defaults() -> dict[tuple[str, str, str], TemplateText]:
    """The built-in words of every (key, channel, language), version 0."""
    raw = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    found = {}
    for key in KEYS:
        for channel in CHANNELS:
            for language in LANGUAGES:
                entry = raw[key][channel][language]
                subject = entry.get("subject") if channel == "email" else None
                body = entry["body"].strip() + ("\n" if channel == "email" else "")
                found[key, channel, language] = TemplateText(
                    key, channel, language, 0, subject, body
                )
    return found


def require_known(key: str, channel: str, language: str) -> None:
    """Raise ``LookupError`` for a key, channel or language there is no template for."""
    if key not in KEYS or channel not in CHANNELS or language not in LANGUAGES:
        raise LookupError(f"no message template {key}/{channel}/{language}")


def _from_row(row: MessageTemplate) -> TemplateText:
    return TemplateText(row.key, row.channel, row.language, row.version, row.subject, row.body)


def current(key: str, channel: str, language: str) -> TemplateText:
    """The template in force: the newest saved version, else the built-in words (one query)."""
    require_known(key, channel, language)
    row = db.session.scalar(
        select(MessageTemplate)
        .where(
            MessageTemplate.key == key,
            MessageTemplate.channel == channel,
            MessageTemplate.language == language,
        )
        .order_by(MessageTemplate.version.desc())
        .limit(1)
    )
    return _from_row(row) if row is not None else defaults()[key, channel, language]


def version_of(key: str, channel: str, language: str, version: int) -> TemplateText | None:
    """One version (0: the built-in words), or None if there is no such version."""
    require_known(key, channel, language)
    if version == 0:
        return defaults()[key, channel, language]
    row = db.session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.key == key,
            MessageTemplate.channel == channel,
            MessageTemplate.language == language,
            MessageTemplate.version == version,
        )
    )
    return _from_row(row) if row is not None else None


def choices(channel: str) -> list[tuple[str, LazyText]]:
    """Every template key with its label for staff, for a choice of template."""
    if channel not in CHANNELS:
        raise LookupError(f"no channel {channel}")
    return [(key, LABELS[key]) for key in KEYS]


# --- filling in -------------------------------------------------------------------------------


def _links(language: str) -> dict[str, str]:
    return {
        "privacy_link": absolute_url("public.privacy", lang=language),
        "inquiry_link": absolute_url("public.contact", lang=language),
    }


def _booking_link(lead: Lead, language: str, now: datetime) -> dict[str, str]:
    """The patient's link to choose a consult time, for the first kind of consult offered (by
    id); none when no kind is offered. The link is the same all day (see invitation_token), so
    a message previewed is the message sent."""
    type_id = db.session.scalar(
        select(ConsultType.id).where(ConsultType.active).order_by(ConsultType.id).limit(1)
    )
    if type_id is None:
        return {}
    token = booking_links.invitation_token(lead_id=lead.id, consult_type_id=type_id, now=now)
    return {"booking_link": booking_links.booking_url(token, language)}


def _sample_booking_link(language: str) -> dict[str, str]:
    token = booking_links.booking_token(
        lead_id=1, consult_type_id=1, expires_at=datetime(2030, 1, 1, tzinfo=UTC)
    )
    return {"booking_link": booking_links.booking_url(token, language)}


def _clinic(language: str) -> dict[str, str]:
    return {"clinic_name": for_language(current_app.config, "INTAKE_CLINIC_NAME", language)}


def addressee_first_name(lead: Lead, channel: str = "email") -> str:
    """Whom the message greets: the patient, or the caregiver who filled in the form when the
    message goes to the caregiver's address (or phone) because the patient gave none."""
    if channel == "text":
        if not lead.phone and lead.filled_by == "someone_else" and lead.caregiver_phone:
            return lead.caregiver_first_name or ""
        return lead.first_name or ""
    address, first_name = patient_address(lead)
    return (first_name if address else lead.first_name) or ""


def values_for(
    *, lead: Lead, staff: StaffUser | None, language: str, now: datetime, channel: str = "email"
) -> dict[str, str]:
    """The placeholder values for a message to ``lead`` from ``staff`` in ``language``; without
    a kind of consult offered there is no ``booking_link`` (filling it says so)."""
    words = (staff.name if staff is not None else "").split()
    return {
        "first_name": addressee_first_name(lead, channel),
        "staff_first_name": words[0] if words else "",
        **_clinic(language),
        **_links(language),
        **_booking_link(lead, language, now),
    }


def sample_values(language: str) -> dict[str, str]:
    """Made-up names (never a real lead), with the clinic's real name and links (a booking link
    of the real length that names no one)."""
    return {
        **SAMPLE_NAMES,
        **_clinic(language),
        **_links(language),
        **_sample_booking_link(language),
    }


def render(key: str, channel: str, language: str, values: dict) -> tuple[str | None, str]:
    """(subject, body) of the template in force, filled in: the subject is None for a text."""
    return render_text(current(key, channel, language), values)


def render_text(text: TemplateText, values: dict) -> tuple[str | None, str]:
    subject = fill(text.subject, values) if text.subject is not None else None
    return subject, fill(text.body, values)


@dataclass(frozen=True)
class Preview:
    """What the patient would receive, with sample values, and what keeps it from being saved;
    ``body`` is None while a placeholder cannot be filled."""

    subject: str | None
    body: str | None
    segments: Segments | None  # texts only
    errors: dict[str, list[str]]


def preview(*, channel: str, language: str, subject: str | None, body: str | None) -> Preview:
    """A template as typed, filled in with made-up sample values (``sample_values``)."""
    errors = problems(channel=channel, language=language, subject=subject, body=body)
    subject, body = normalise(channel, subject, body)
    typed = TemplateText("", channel, language, 0, subject, body)
    try:
        filled_subject, filled_body = render_text(typed, sample_values(language))
    except TemplateError:
        return Preview(None, None, None, errors)
    segments = measure(filled_body) if channel == "text" else None
    return Preview(filled_subject, filled_body, segments, errors)


# --- saving a version -------------------------------------------------------------------------


def _length_errors(channel: str, language: str, body: str) -> list[str]:
    limit = EMAIL_BODY_MAX if channel == "email" else TEXT_BODY_MAX
    if len(body) > limit:
        return [
            _("Keep it under %(max)s characters (it has %(count)s).", max=limit, count=len(body))
        ]
    if channel == "text":
        parts = measure(fill(body, sample_values(language))).count
        if parts > TEXT_MAX_SEGMENTS:
            return [
                _(
                    "This text would be sent in %(count)s parts. Shorten it to %(max)s parts "
                    "at most.",
                    count=parts,
                    max=TEXT_MAX_SEGMENTS,
                )
            ]
    return []


def problems(*, channel: str, language: str, subject: str | None, body: str | None) -> dict:
    """Plain errors per input ("subject", "body") for a template: empty when it may be saved."""
    subject, body = (subject or "").strip(), (body or "").strip()
    found: dict[str, list[str]] = {"subject": [], "body": []}
    if channel == "text" and subject:
        found["subject"].append(_("A text message has no subject. Leave this empty."))
    elif channel == "email":
        if not subject:
            found["subject"].append(_("Write a subject: an email needs one."))
        elif "\n" in subject or "\r" in subject:
            found["subject"].append(_("Keep the subject on one line."))
        elif len(subject) > SUBJECT_MAX:
            found["subject"].append(
                _("Keep the subject under %(max)s characters.", max=SUBJECT_MAX)
            )
        found["subject"] += check(subject)
    if not body:
        found["body"].append(_("Write the message."))
    found["body"] += check(body)
    if not found["body"]:
        found["body"] += _length_errors(channel, language, body)
    return {field: errors for field, errors in found.items() if errors}


def normalise(channel: str, subject: str | None, body: str | None) -> tuple[str | None, str]:
    """The subject (None for a text) and body as stored: one kind of line end, no trailing
    spaces, an email's body ending in one line end."""
    lines = (body or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = "\n".join(line.rstrip() for line in lines).strip()
    if channel == "text":
        return None, text
    return (subject or "").strip(), text + "\n"


def save_version(
    *,
    key: str,
    channel: str,
    language: str,
    subject: str | None,
    body: str,
    actor: StaffUser,
    now: datetime,
) -> MessageTemplate:
    """Add a version of a template, in force from now on; raises ``TemplateError`` (naming the
    input at fault) for words that may not be sent. Flushes; the caller commits."""
    require_known(key, channel, language)
    found = problems(channel=channel, language=language, subject=subject, body=body)
    if found:
        raise TemplateError(found)
    subject, body = normalise(channel, subject, body)
    in_force = current(key, channel, language)
    if (in_force.subject, in_force.body) == (subject, body):
        raise TemplateError(
            {
                "body": [
                    _(
                        "This is the version in force already. Change "
                        "something to save a new version."
                    )
                ]
            }
        )
    newest = db.session.scalar(
        select(func.max(MessageTemplate.version)).where(
            MessageTemplate.key == key,
            MessageTemplate.channel == channel,
            MessageTemplate.language == language,
        )
    )
    row = MessageTemplate(
        key=key,
        channel=channel,
        language=language,
        version=(newest or 0) + 1,
        subject=subject,
        body=body,
        created_at=now,
        created_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise TemplateError(
            {
                "body": [
                    _(
                        "Someone saved this template at the same moment. "
                        "Check the newest version and save again."
                    )
                ]
            }
        ) from None
    return row
