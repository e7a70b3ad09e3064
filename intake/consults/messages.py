"""What a consult sends the patient, through the send ledger like every other message.

Each message is a ledger row keyed by the consult, its RFC 5545 sequence and what it is:
``consult:<id>:<sequence>:confirmation`` (or ``update``, ``cancellation``, ``reminder:<n>``).
Moving or cancelling raises the sequence and cancels the rows of earlier ones still waiting, and
every row is checked again at send time (``send_time_stop``): a reminder never goes for a time
that was moved or cancelled. After a no-show a short re-booking cadence invites the patient to
choose a new time; it stops once they have one. No message carries health information.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from intake.extensions import db
from intake.inquiries.consents import has_consent
from intake.messaging.sends import schedule_send, send_key
from intake.models import CLOSED, Consult, Lead, Send

CONSULT = "consult"
CONSULT_REBOOK = "consult_rebook"
CADENCES = (CONSULT, CONSULT_REBOOK)
TEMPLATES = {
    "confirmation": "consult_confirmation",
    "update": "consult_update",
    "cancellation": "consult_cancellation",
    "reminder": "consult_reminder",
    "rebook": "consult_rebook",
}
# After a no-show: invitations to choose a new time, this long after it was marked.
REBOOK_AFTER = (timedelta(days=1), timedelta(days=4))
CONSENT = "contact_email"
# The notice to staff when the patient books, moves or cancels from their link.
STAFF_NOTICE = "staff_consult"


def _schedule(consult: Consult, kind: str, due_at: datetime, now: datetime, n: int = 0) -> bool:
    return schedule_send(
        key=send_key(CONSULT, consult.id, consult.sequence, kind, n),
        cadence=CONSULT,
        template=TEMPLATES[kind],
        step=consult.sequence,
        due_at=due_at,
        now=now,
        lead_id=consult.lead_id,
        consult_id=consult.id,
    )


def _reminders(consult: Consult, now: datetime) -> None:
    for n, hours in enumerate(current_app.config["INTAKE_CONSULT_REMINDER_HOURS"]):
        due = consult.starts_at - timedelta(hours=hours)
        if due > now:
            _schedule(consult, "reminder", due, now, n)


def supersede(consult: Consult, now: datetime) -> int:
    """Cancel the waiting rows of the consult's earlier sequences (its old time's messages)."""
    return db.session.execute(
        update(Send)
        .where(
            Send.consult_id == consult.id,
            Send.cadence == CONSULT,
            Send.step < consult.sequence,
            Send.status == "scheduled",
        )
        .values(status="cancelled", finished_reason="superseded", claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def plan_booked(consult: Consult, now: datetime) -> None:
    """A confirmation now, and the reminders before the consult."""
    _schedule(consult, "confirmation", now, now)
    _reminders(consult, now)


def plan_moved(consult: Consult, now: datetime) -> None:
    """An update now (the calendar entry moves), new reminders, the old time's withdrawn."""
    supersede(consult, now)
    _schedule(consult, "update", now, now)
    _reminders(consult, now)


def plan_cancelled(consult: Consult, now: datetime) -> None:
    """A cancellation now (the calendar entry goes); nothing else for this consult."""
    supersede(consult, now)
    _schedule(consult, "cancellation", now, now)


def plan_no_show(consult: Consult, now: datetime) -> None:
    """Invitations to book again, until the patient has a new time."""
    for n, after in enumerate(REBOOK_AFTER):
        schedule_send(
            key=send_key(CONSULT_REBOOK, consult.id, n),
            cadence=CONSULT_REBOOK,
            template=TEMPLATES["rebook"],
            step=n,
            due_at=now + after,
            now=now,
            lead_id=consult.lead_id,
            consult_id=consult.id,
        )


def notify_staff(consult: Consult, lead: Lead, now: datetime) -> bool:
    """Tell the lead's owner (else the host) that the patient changed their booking: a link to
    the lead, nothing else."""
    return schedule_send(
        key=send_key(lead.id, STAFF_NOTICE, consult.id, consult.sequence),
        cadence=STAFF_NOTICE,
        template=STAFF_NOTICE,
        due_at=now,
        now=now,
        lead_id=lead.id,
        staff_user_id=lead.owner_id or consult.staff_user_id,
    )


def send_time_stop(send: Send, now: datetime) -> str | None:
    """Why this consult message must not go now; None when it may."""
    consult = db.session.get(Consult, send.consult_id) if send.consult_id else None
    lead = db.session.get(Lead, send.lead_id) if send.lead_id else None
    if consult is None or lead is None:
        return "gone"
    if lead.status in ("do_not_contact", "merged"):
        return lead.status
    if not has_consent(lead_id=lead.id, purpose=CONSENT):
        return "no_consent"
    if send.cadence == CONSULT_REBOOK:
        if lead.status in CLOSED:
            return "closed"
        rebooked = db.session.scalar(
            select(Consult.id).where(Consult.lead_id == lead.id, Consult.status == "booked")
        )
        return "rebooked" if rebooked else None
    if consult.sequence != send.step:
        return "superseded"
    if send.template == TEMPLATES["cancellation"]:
        return None if consult.status == "cancelled" else "not_cancelled"
    if consult.status != "booked":
        return consult.status
    if send.template == TEMPLATES["reminder"] and consult.starts_at <= now:
        return "too_late"
    return None
