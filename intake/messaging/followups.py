"""Planning follow-ups when an inquiry starts or completes, and checking at send time that
each one may still go. A patient who prefers texts and agreed to them gets the confirmation by
text instead of email (``intake.messaging.cadence_texts``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time

from flask import current_app

from intake.accounts.tokens import CADENCES as STAFF_TOKEN_CADENCES
from intake.accounts.tokens import staff_token_stop
from intake.extensions import db
from intake.inquiries.consents import has_consent
from intake.messaging.cadence_settings import effective_cadences
from intake.messaging.cadence_texts import cadence_channel, consent_for
from intake.messaging.cadences import Cadence, outside_quiet_hours
from intake.messaging.sends import cancel_sends, schedule_send, send_key
from intake.models import CLOSED, Inquiry, Lead, Send, StaffUser
from intake.models.types import utcnow
from intake.tasks.notices import TASK_CADENCES, task_stop


def _day(config) -> tuple[time, time]:
    start, end = config["INTAKE_PATIENT_DAY_START"], config["INTAKE_PATIENT_DAY_END"]
    return time.fromisoformat(start), time.fromisoformat(end)


def patient_daytime(at: datetime, time_zone: str) -> datetime:
    """``at``, or the start of the patient's next daytime when it falls in their quiet hours."""
    day_starts, day_ends = _day(current_app.config)
    return outside_quiet_hours(at, time_zone, day_starts=day_starts, day_ends=day_ends)


def cadence_key(cadence: Cadence, *, lead_id: int, inquiry_id: int, step: int) -> str:
    scope = (
        (lead_id, cadence.name, inquiry_id) if cadence.per == "inquiry" else (lead_id, cadence.name)
    )
    return send_key(*scope, step)


def plan_followups(*, topic: str, lead_id: int, inquiry_id: int, now: datetime) -> int:
    """Schedule the cadences this event starts (each step once, ever); returns how many."""
    lead = db.session.get(Lead, lead_id)
    if topic == "inquiry.completed":
        cancel_sends(
            lead_id=lead_id, cadences=("resume_reminder",), reason="inquiry_completed", now=now
        )
    planned = 0
    for cadence in effective_cadences().values():
        if cadence.trigger != topic or not cadence.enabled:
            continue
        channel = cadence_channel(lead, cadence) if cadence.audience == "patient" else "email"
        consent = consent_for(cadence, channel)
        if consent and not has_consent(lead_id=lead_id, purpose=consent):
            continue
        for step, delay in enumerate(cadence.steps, start=1):
            due = now + delay
            if cadence.quiet_hours:
                due = patient_daytime(due, lead.time_zone)
            planned += schedule_send(
                key=cadence_key(cadence, lead_id=lead_id, inquiry_id=inquiry_id, step=step),
                cadence=cadence.name,
                template=cadence.template,
                step=step,
                due_at=due,
                now=now,
                lead_id=lead_id,
                inquiry_id=inquiry_id,
                channel=channel,
            )
    return planned


def _patient_stop(send: Send, cadence: Cadence, consents: Mapping[str, bool]) -> str | None:
    lead = db.session.get(Lead, send.lead_id)
    if lead.status == "do_not_contact":
        return "do_not_contact"
    if "closed" in cadence.stops and lead.status in CLOSED:
        return "closed"
    consent = consent_for(cadence, send.channel)
    if consent and not (
        consents[consent] if consent in consents else has_consent(lead_id=lead.id, purpose=consent)
    ):
        return "no_consent"
    if "contacted" in cadence.stops and (lead.first_contacted_at or lead.status != "new"):
        return "contacted"
    if "inquiry_completed" in cadence.stops and send.inquiry_id is not None:
        inquiry = db.session.get(Inquiry, send.inquiry_id)
        if inquiry.status == "complete":
            return "inquiry_completed"
    return None


def _staff_stop(send: Send) -> str | None:
    staff = db.session.get(StaffUser, send.staff_user_id) if send.staff_user_id else None
    if staff is None or not staff.active:
        return "staff_inactive"
    if send.cadence == "staff_new_lead" and send.lead_id is not None:
        lead = db.session.get(Lead, send.lead_id)
        if lead.owner_id != staff.id:
            return "reassigned"
    if send.cadence in TASK_CADENCES:
        return task_stop(send)  # done or cancelled since
    if send.cadence in STAFF_TOKEN_CADENCES.values():
        return staff_token_stop(send, utcnow())  # the link was used, replaced or expired
    return None


def stop_reason(
    send: Send,
    cadences: Mapping[str, Cadence] | None = None,
    consents: Mapping[str, bool] | None = None,
) -> str | None:
    """Why this message must not go now, checked again at send time; None when it may.
    ``cadences``: as ``effective_cadences`` gives them (read here unless given); ``consents``:
    purpose → whether the lead's latest record grants it, as read with the row (a purpose not
    in it is read here)."""
    cadence = (effective_cadences() if cadences is None else cadences).get(send.cadence)
    if cadence is not None and cadence.audience == "patient":
        return (
            "cadence_off" if not cadence.enabled else _patient_stop(send, cadence, consents or {})
        )
    return _staff_stop(send)


def deferred_until(
    send: Send, now: datetime, cadences: Mapping[str, Cadence] | None = None
) -> datetime | None:
    """A later time for a patient message that has come due in the patient's quiet hours."""
    cadence = (effective_cadences() if cadences is None else cadences).get(send.cadence)
    if cadence is None or not cadence.quiet_hours or send.lead_id is None:
        return None
    lead = db.session.get(Lead, send.lead_id)
    later = patient_daytime(now, lead.time_zone)
    return later if later > now else None
