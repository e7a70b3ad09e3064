"""What a consult email says, beyond what every patient email says: when (in the patient's own
time zone, written in their language), how long, what kind, with whom (the host's first name),
the link to move or cancel it (or, after a cancellation or a no-show, to choose a new time), and
for a confirmation, an update or a cancellation, the calendar invitation.

Called by ``intake.messaging.mail``, which renders in the same language. Nothing here is about
the patient's health; the invitation holds no patient detail at all.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_time, get_timezone_name
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from intake.consults.calendar import FILENAME, Invitation, content_type, invitation_ics, method_for
from intake.consults.links import booking_token, booking_url, invitation_token
from intake.consults.messages import TEMPLATES
from intake.display import zone_or
from intake.extensions import db
from intake.messaging.subjects import clinic_name
from intake.models import Consult, ConsultType, Lead, Send, StaffUser

# The messages that carry the calendar invitation: the entry is made, moved or removed.
INVITING = frozenset(TEMPLATES[kind] for kind in ("confirmation", "update", "cancellation"))


def spoken_time(moment: datetime, time_zone: str | None, language: str) -> str:
    """The time as the patient reads it in their zone and language: "Tuesday, March 10, 2026 at
    10:00 AM (Eastern Daylight Time)", "martes, 10 de marzo de 2026 a las 10:00 (hora de verano
    oriental)"."""
    here = moment.astimezone(zone_or(time_zone, current_app.config["INTAKE_CLINIC_TIME_ZONE"]))
    return _(
        "%(day)s at %(time)s (%(zone)s)",
        day=format_date(here, "full", locale=language),
        time=format_time(here, "short", locale=language),
        zone=get_timezone_name(here, width="long", locale=language),
    )


def first_name(name: str) -> str:
    return name.split()[0] if name.strip() else name


def consult_context(send: Send, lead: Lead, *, now: datetime, language: str) -> dict | None:
    """The consult part of the email's context, in ``language``; None when the consult or its
    type is gone."""
    with force_locale(language):
        return _context(send, lead, now=now, language=language)


def _context(send: Send, lead: Lead, *, now: datetime, language: str) -> dict | None:
    consult = db.session.get(Consult, send.consult_id) if send.consult_id else None
    kind = db.session.get(ConsultType, consult.consult_type_id) if consult else None
    if consult is None or kind is None:
        return None
    host = db.session.get(StaffUser, consult.staff_user_id)
    if consult.status == "booked":
        token = booking_token(
            lead_id=lead.id, consult_type_id=kind.id, expires_at=consult.starts_at
        )
    else:  # cancelled, or a no-show: a link to choose a new time
        token = invitation_token(lead_id=lead.id, consult_type_id=kind.id, now=now)
    context = consult_details(
        consult,
        kind,
        host_name=host.name if host else None,
        time_zone=lead.time_zone,
        link=booking_url(token, language),
        language=language,
    )
    if send.template in INVITING:
        context["attachments"] = [_invitation(consult, context, now)]
    return context


def consult_details(
    consult: Consult,
    kind: ConsultType,
    *,
    host_name: str | None,
    time_zone: str | None,
    link: str,
    language: str,
) -> dict:
    """What the templates say about one consult, from its rows (saved or made up, as the
    admin's previews do): ``link`` manages a booked consult, else chooses a new time. Call
    inside ``force_locale(language)``."""
    context = {
        "when": spoken_time(consult.starts_at, time_zone, language),
        "minutes": int((consult.ends_at - consult.starts_at).total_seconds() // 60),
        "kind": kind.kind,
        "video_url": kind.video_url if kind.kind == "video" else None,
        "location": kind.location if kind.kind == "in_person" else None,
        "host_name": first_name(host_name) if host_name is not None else None,
    }
    context["manage_url" if consult.status == "booked" else "book_url"] = link
    return context


def _invitation(consult: Consult, context: dict, now: datetime) -> tuple[str, str, bytes]:
    """The .ics attachment: filename, content type, bytes."""
    link = context.get("manage_url")
    if consult.status == "cancelled":
        description = _("This consultation is cancelled.")
    else:
        description = f"{_('To move or cancel it, open this link:')}\n{link}" if link else ""
    invitation = Invitation(
        summary=_("Consultation with %(clinic)s", clinic=clinic_name()),
        description=description,
        organizer=current_app.config["INTAKE_MAIL_FROM"],
        location=context["video_url"] or context["location"],
        url=context["video_url"],
    )
    ics = invitation_ics(consult, invitation, now=now)
    return FILENAME, content_type(method_for(consult)), ics
