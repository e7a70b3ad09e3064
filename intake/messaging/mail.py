"""Email: render a ledger row into a message, and deliver it by SMTP or keep it locally.

No email, subject or header carries health information: patient emails greet by first name and
say nothing about the answers; staff emails carry a link to the lead and nothing about the
patient. Callers check consent, suppression and stop conditions before rendering and delivering.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, formatdate, parseaddr
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func

from intake.accounts.tokens import CADENCES as STAFF_TOKEN_CADENCES
from intake.accounts.tokens import staff_token_url
from intake.consults.mail_context import consult_context
from intake.consults.messages import CADENCES as CONSULT_CADENCES
from intake.conversations.replies import reply_address
from intake.crypto import DecryptionError
from intake.display import local_time, zone_or
from intake.extensions import db, dialect_insert
from intake.i18n import DEFAULT, supported
from intake.inquiries.answers import read_answers
from intake.inquiries.resume import issue_resume_token
from intake.links import absolute_url
from intake.messaging.sends import CONVERSATION, PATIENT_CADENCES
from intake.messaging.smtp import PermanentMailError as PermanentMailError  # re-exported
from intake.messaging.smtp import TransientMailError as TransientMailError  # re-exported
from intake.messaging.smtp import connection as smtp_connection
from intake.messaging.subjects import TEMPLATES, clinic_name, nurture_step, subject
from intake.messaging.unsubscribe import unsubscribe_token
from intake.models import CLOSED, Inquiry, Lead, StaffUser, Team
from intake.models.sends import CapturedEmail, Send
from intake.routing.choice import ALERT_CASES
from intake.tasks.notices import task_due

# The cadences whose emails go to the patient (with a reply address); a staff-written message
# (template CONVERSATION) does too, whatever its cadence.
PATIENT_EMAIL_CADENCES = (*PATIENT_CADENCES, *CONSULT_CADENCES)


class Attachment(NamedTuple):
    filename: str
    content_type: str  # with its parameters: "text/calendar; method=REQUEST; charset=UTF-8"
    data: bytes


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    text: str
    html: str
    headers: dict
    message_id: str
    attachments: tuple[Attachment, ...] = ()


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _mail_domain() -> str:
    address = parseaddr(current_app.config["INTAKE_MAIL_FROM"])[1]
    return address.rpartition("@")[2] or "intake.local"


def message_id_for(send: Send) -> str:
    """The same Message-ID for every attempt at one ledger row, so resends can be recognised."""
    return f"<{_sha256(send.key)[:32]}@{_mail_domain()}>"


def render_message(
    *, send: Send, now: datetime, words: tuple[str | None, str] | None = None
) -> Message | None:
    """The email for a ledger row, or None when it has nobody to go to.

    A patient email is written in the lead's language (subject, words, links and ``<html lang>``);
    a staff email in English, even when rendered during a patient's Spanish request. A staff-
    written message (template ``conversation``) is the subject and body in ``words``."""
    written = send.template == CONVERSATION
    if send.template not in TEMPLATES and not written:
        raise ValueError(f"unknown email template {send.template!r}")
    patient = send.cadence in PATIENT_EMAIL_CADENCES or written
    recipient, context = (_patient_parts if patient else _staff_parts)(send, now)
    if recipient is None or (written and words is None):
        return None
    with force_locale(context.setdefault("language", DEFAULT)):
        if written:
            title, context["body"] = words
        else:
            title = subject(send.template, send.step, alert_case=_alert_case(send))
        context.update(subject=title, clinic=clinic_name())
        return Message(
            recipient=recipient,
            subject=title,
            text=_tidy(render_template(f"email/{send.template}.txt", **context)),
            html=render_template(f"email/{send.template}.html", **context),
            headers=_headers(
                send,
                now,
                context.get("unsubscribe_url"),
                context.get("reply_to"),
                automatic=not written,
            ),  # fmt: skip
            message_id=message_id_for(send),
            attachments=tuple(Attachment(*part) for part in context.get("attachments", ())),
        )


def _tidy(text: str) -> str:
    """Plain text with at most one blank line in a row (templates leave a few behind)."""
    return re.sub(r"\n\s*\n(\s*\n)+", "\n\n", text).strip() + "\n"


def _alert_case(send: Send) -> str:
    """Which admin alert this is (its ledger step): no rule, no member, or overdue."""
    return ALERT_CASES[send.step] if 0 <= send.step < len(ALERT_CASES) else ALERT_CASES[0]


def _headers(
    send: Send,
    now: datetime,
    unsubscribe_url: str | None,
    reply_to: str | None,
    *,
    automatic: bool = True,
) -> dict:
    headers = {"Date": format_datetime(now), "X-Intake-Idempotency-Key": _sha256(send.key)}
    if automatic:  # RFC 3834: a message a person wrote is not auto-generated
        headers["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:  # RFC 8058 one-click unsubscribe, for patient emails
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if reply_to:  # patient emails: a reply comes back to the lead (intake.conversations)
        headers["Reply-To"] = reply_to
    return headers


def _patient_parts(send: Send, now: datetime) -> tuple[str | None, dict]:
    lead = db.session.get(Lead, send.lead_id) if send.lead_id else None
    inquiry = db.session.get(Inquiry, send.inquiry_id) if send.inquiry_id else None
    recipient, name = patient_address(lead, inquiry) if lead else (None, None)
    if lead is None or recipient is None:
        return None, {}
    # The lead's language, and the pages its links open in that language too.
    language = supported(lead.language) or DEFAULT
    context = {
        "name": name,
        "step": nurture_step(send.step),
        "language": language,
        "unsubscribe_url": absolute_url(
            "public.unsubscribe", token=unsubscribe_token(lead.id), lang=language
        ),
        "reply_to": reply_address(lead),
    }
    if send.template in ("resume_reminder", "resume_link"):
        context["resume_url"] = _resume_url(send, now, language)
        context["days"] = current_app.config["INTAKE_RESUME_DAYS"]
        if context["resume_url"] is None:
            return None, {}
    if send.cadence in CONSULT_CADENCES:
        found = consult_context(send, lead, now=now, language=language)
        return (recipient, {**context, **found}) if found is not None else (None, {})
    return recipient, context


def _given(inquiry: Inquiry | None) -> dict:
    """The contact details a message's own inquiry was sent with (a repeat inquiry by the same
    person may bring a new address); empty when there are none to read."""
    try:
        answers = read_answers(inquiry) if inquiry is not None else {}
    except DecryptionError:
        return {}
    return answers if "first_name" in answers else {}


def patient_address(lead: Lead, inquiry: Inquiry | None = None) -> tuple[str | None, str | None]:
    """The patient's own address, else the caregiver's when a caregiver filled in the form:
    as given in ``inquiry`` (the message's own), else as on the lead."""
    given = _given(inquiry)
    if given:
        if given.get("email"):
            return given["email"], given.get("first_name")
        if given.get("filled_by") == "someone_else" and given.get("caregiver_email"):
            return given["caregiver_email"], given.get("caregiver_first_name")
    if lead.email:
        return lead.email, lead.first_name
    if lead.filled_by == "someone_else" and lead.caregiver_email:
        return lead.caregiver_email, lead.caregiver_first_name
    return None, None


def _resume_url(send: Send, now: datetime, language: str) -> str | None:
    """A fresh link to the draft; None once the inquiry is gone or already sent."""
    inquiry = db.session.get(Inquiry, send.inquiry_id) if send.inquiry_id else None
    if inquiry is None or inquiry.status != "draft":
        return None
    days = current_app.config["INTAKE_RESUME_DAYS"]
    token = issue_resume_token(inquiry=inquiry, now=now, valid_for=timedelta(days=days))
    return absolute_url("public.resume", token=token, lang=language)


def _staff_parts(send: Send, now: datetime) -> tuple[str | None, dict]:
    staff = db.session.get(StaffUser, send.staff_user_id) if send.staff_user_id else None
    if staff is None or not staff.active:
        return None, {}
    context: dict = {"staff_name": staff.name}
    if send.template == "staff_digest":
        context.update(staff_url=absolute_url("staff.queue"), **_digest_counts(staff, now))
        return staff.email, context
    if send.cadence in STAFF_TOKEN_CADENCES.values():
        return _staff_token_parts(send, now, staff, context)
    lead = db.session.get(Lead, send.lead_id) if send.lead_id else None
    if lead is None:
        return None, {}
    context["lead_url"] = absolute_url("staff.lead", lead_id=lead.id)
    context["due"] = _local_time(task_due(send) or lead.sla_due_at, staff.time_zone)
    if send.template == "admin_alert":
        team = db.session.get(Team, lead.team_id) if lead.team_id else None
        context.update(alert_case=_alert_case(send), team_name=team.name if team else None)
    return staff.email, context


def _staff_token_parts(send: Send, now: datetime, staff: StaffUser, context: dict):
    """An invitation or reset link: the link and its expiry time, nothing else."""
    link = staff_token_url(send=send, now=now)
    if link is None:
        return None, {}
    context.update(link_url=link[0], expires=_local_time(link[1], staff.time_zone))
    return staff.email, context


def _local_time(moment: datetime | None, zone: str) -> str | None:
    """A time in a staff email, written as their pages write it, in their own zone."""
    if moment is None:
        return None
    return local_time(moment, zone_or(zone, current_app.config["INTAKE_CLINIC_TIME_ZONE"]))


def _digest_counts(staff: StaffUser, now: datetime) -> dict:
    """Counts only, never names: the staff member's open leads and their first-contact times."""
    zone = ZoneInfo(staff.time_zone)
    today = datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone)
    is_open = (Lead.owner_id == staff.id, Lead.status.not_in(CLOSED))
    waiting = (*is_open, Lead.first_contacted_at.is_(None))

    def count(*where) -> int:
        return db.session.scalar(db.select(func.count(Lead.id)).where(*where)) or 0

    return {
        "open_count": count(*is_open),
        "due_today": count(
            *waiting, Lead.sla_due_at >= today, Lead.sla_due_at < today + timedelta(days=1)
        ),
        "overdue": count(*waiting, Lead.sla_due_at < now),
    }


def deliver(message: Message, *, accepted: Callable[[], None] | None = None) -> None:
    """Send by SMTP when SMTP_URL is set; otherwise keep the message in the local capture.

    ``accepted`` runs the moment the server has taken the message, before anything else is said
    on the connection, so the caller can record it as sent with the smallest possible window
    for a second copy. A worker process sends over the connection it keeps open
    (``intake.messaging.smtp``); elsewhere a message has a connection of its own."""
    url = current_app.config.get("SMTP_URL")
    if not url:
        _capture(message)
        if accepted:
            accepted()
        return
    email = _build(message)
    with smtp_connection() as connection:
        connection.send(email, url=url, timeout=current_app.config["INTAKE_SMTP_TIMEOUT"])
        if accepted:
            accepted()


# Headers and bodies 7-bit clean on the wire, so that any server takes them as they are: a subject
# or From name with accents or ñ becomes RFC 2047 encoded-words (=?utf-8?q?...?=), and a body
# with them quoted-printable or base64 in UTF-8. (The default policy's cte_type "8bit" would send
# a body of short non-ASCII lines as raw 8-bit, which smtplib does not announce with
# BODY=8BITMIME.) RFC 6532 raw UTF-8 headers only when they cannot be avoided: smtplib switches to
# SMTPUTF8 for a non-ASCII *address* alone, and only when the server offers it (else a permanent
# error, SMTPNotSupportedError); encoded-words need nothing of the server or the reader's client.
class _HeaderClasses(HeaderRegistry):
    """The standard header registry, each header's class made once: the standard one makes a
    new class every time a header is set or counted (dozens a message). A header whose value is
    the same in every message (From, the MIME headers of a part) is parsed once too: a parsed
    header is a read-only string, folded afresh each time it is written."""

    # Headers whose values repeat from message to message: never a patient's address, a token or a
    # subject (staff write their own, which may name the patient: not kept past its message).
    _SAME_EACH_TIME = frozenset(
        ("from", "auto-submitted", "list-unsubscribe-post", "mime-version", "content-type",
         "content-transfer-encoding")
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}
        self._parsed: dict[tuple[str, str], object] = {}

    def __call__(self, name: str, value):
        if (
            type(value) is not str
            or name.lower() not in self._SAME_EACH_TIME
            or "boundary=" in value  # each multipart's own
        ):
            return super().__call__(name, value)
        parsed = self._parsed.get((name, value))
        if parsed is None:
            parsed = super().__call__(name, value)
            if len(self._parsed) < 500:  # a few dozen: languages × parts
                self._parsed[(name, value)] = parsed
        return parsed

    def __getitem__(self, name: str) -> type:
        made = self._made.get(name.lower())
        if made is None:
            made = super().__getitem__(name)
            if len(self._made) < 100:  # our own headers: a few dozen names
                self._made[name.lower()] = made
        return made


WIRE_POLICY = policy.SMTP.clone(cte_type="7bit", header_factory=_HeaderClasses())


def _build(message: Message) -> EmailMessage:
    email = EmailMessage(policy=WIRE_POLICY)
    email["From"] = current_app.config["INTAKE_MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = message.headers.get("Date") or formatdate(usegmt=True)
    for name, value in message.headers.items():
        if name != "Date":
            email[name] = value
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    for part in message.attachments:
        _attach(email, part)
    return email


def _attach(email: EmailMessage, part: Attachment) -> None:
    """Add a file, its content type's parameters (a calendar's ``method``) kept."""
    maintype, _slash, rest = part.content_type.partition("/")
    subtype, *params = (value.strip() for value in rest.split(";"))
    parameters = dict(param.split("=", 1) for param in params)
    email.add_attachment(part.data, maintype, subtype, filename=part.filename, params=parameters)


def _capture(message: Message) -> None:
    """Keep the message for staff to read; a second delivery of the same one adds nothing."""
    headers = {**message.headers, "From": current_app.config["INTAKE_MAIL_FROM"]}
    if message.attachments:  # no column for them: staff reading captured mail see their names
        headers["X-Intake-Attachments"] = "; ".join(
            f"{part.filename} ({part.content_type}, {len(part.data)} bytes)"
            for part in message.attachments
        )
    # An insert that skips a duplicate Message-ID, so even two racing workers store it once.
    db.session.execute(
        dialect_insert()(CapturedEmail)
        .values(
            message_id=message.message_id,
            recipient=message.recipient,
            subject=message.subject,
            headers=headers,
            text_body=message.text,
            html_body=message.html,
        )
        .on_conflict_do_nothing(index_elements=["message_id"])
    )
