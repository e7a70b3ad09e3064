"""The cadence page: each cadence as documented settings, and previews of every email
template rendered with made-up sample data (never a real lead): in English unless asked for
another language we speak (patient emails only; staff emails are always English)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app, render_template
from flask_babel import force_locale

from intake.consults.mail_context import consult_details
from intake.consults.messages import TEMPLATES as CONSULT_KINDS
from intake.i18n import DEFAULT, supported
from intake.messaging.cadences import Cadence, load_cadences
from intake.messaging.subjects import PATIENT_TEMPLATES, clinic_name, nurture_step, subject
from intake.models import Consult, ConsultType

SAMPLE_BASE = "https://clinic.example"
# Obviously invented: nobody could mistake these for a patient or a colleague.
SAMPLE_CONTEXT = {
    "name": "Sample",
    "staff_name": "Sample Coordinator",
    "unsubscribe_url": f"{SAMPLE_BASE}/unsubscribe/SAMPLE-TOKEN",
    "resume_url": f"{SAMPLE_BASE}/inquiry/resume/SAMPLE-TOKEN",
    "lead_url": f"{SAMPLE_BASE}/staff/leads/0",
    "staff_url": f"{SAMPLE_BASE}/staff/",
    "due": "10:30 on Monday 02 March",
    "open_count": 12,
    "due_today": 3,
    "overdue": 1,
}
# The consult emails, each once: the consult a made-up video call (nobody's, at no real time).
CONSULT_TEMPLATES = tuple(CONSULT_KINDS.values())
SAMPLE_CONSULT_START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
SAMPLE_CONSULT_STATUS = {"consult_cancellation": "cancelled", "consult_rebook": "no_show"}
STAFF_TEMPLATES = (
    "staff_new_lead",
    "staff_digest",
    "sla_reminder",
    "sla_escalation",
    "task_reminder",
    "task_escalation",
    "admin_alert",
    "staff_reply",
    "staff_consult",
)


@dataclass(frozen=True)
class Preview:
    template: str
    step: int
    subject: str


def describe_delay(delay: timedelta) -> str:
    """``0`` → "at once", 90 minutes → "1 h 30 min", 3 days → "3 days"."""
    if not delay:
        return "at once"
    days, rest = delay.days, delay.seconds
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if rest >= 3600:
        parts.append(f"{rest // 3600} h")
    if rest % 3600:
        parts.append(f"{rest % 3600 // 60} min")
    return " ".join(parts)


def cadences() -> list[Cadence]:
    """Every cadence in the cadence file, in file order."""
    return list(load_cadences().values())


def previews() -> list[Preview]:
    """One preview per distinct message: each nurture step, every other template once."""
    found: list[Preview] = []
    for cadence in cadences():
        steps = range(1, len(cadence.steps) + 1) if cadence.template == "nurture" else (1,)
        found += [
            Preview(cadence.template, step, subject_for(cadence.template, step)) for step in steps
        ]
    found += [
        Preview(name, 1, subject_for(name, 1)) for name in (*CONSULT_TEMPLATES, *STAFF_TEMPLATES)
    ]
    return found


def preview_language(template: str, language: str | None) -> str:
    """The language a preview is shown in: the one asked for if we speak it, for a patient
    email; English otherwise."""
    return (supported(language) if template in PATIENT_TEMPLATES else None) or DEFAULT


def subject_for(template: str, step: int, language: str | None = None) -> str:
    with force_locale(preview_language(template, language)):
        return subject(template, step)


def is_previewable(template: str, step: int) -> bool:
    return any(p.template == template and p.step == step for p in previews())


def render_preview(*, template: str, step: int, kind: str, language: str | None = None) -> str:
    """The template as ``text`` or ``html``, filled in with the sample data, in English or
    (a patient email) in ``language``."""
    language = preview_language(template, language)
    with force_locale(language):
        context = {
            **SAMPLE_CONTEXT,
            "step": nurture_step(step),
            "days": current_app.config["INTAKE_RESUME_DAYS"],
            "subject": subject(template, step),
            "clinic": clinic_name(),
            "language": language,
        }
        if template in STAFF_TEMPLATES:
            context.pop("unsubscribe_url")
        if template in CONSULT_TEMPLATES:
            context.update(sample_consult(template, language))
        body = render_template(f"email/{template}.{'txt' if kind == 'text' else 'html'}", **context)
    return _tidy(body) if kind == "text" else body


def sample_consult(template: str, language: str) -> dict:
    """What a consult email says about its consult, written by the worker's own code
    (``consult_details``) from unsaved rows: a 30-minute video call with "Sample Host"."""
    consult = Consult(
        starts_at=SAMPLE_CONSULT_START,
        ends_at=SAMPLE_CONSULT_START + timedelta(minutes=30),
        status=SAMPLE_CONSULT_STATUS.get(template, "booked"),
    )
    kind = ConsultType(kind="video", video_url=f"{SAMPLE_BASE}/video/SAMPLE-ROOM")
    return consult_details(
        consult,
        kind,
        host_name="Sample Host",
        time_zone="America/New_York",
        link=f"{SAMPLE_BASE}/consult/SAMPLE-TOKEN?lang={language}",
        language=language,
    )


def _tidy(text: str) -> str:
    return re.sub(r"\n\s*\n(\s*\n)+", "\n\n", text).strip() + "\n"
