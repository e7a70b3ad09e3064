"""Save and finish later: the link shown at once, the same kind of link emailed at once, and
the greeting that says where the patient left off when they come back."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func

from intake.extensions import db
from intake.inquiries.resume import issue_resume_token
from intake.inquiries.service import all_answers, first_incomplete_step
from intake.messaging.cadence_settings import effective_cadences
from intake.messaging.mail import patient_address
from intake.messaging.sends import schedule_send, send_key
from intake.models import Inquiry, Send
from intake.questionnaire.definition import Questionnaire

CADENCE = "resume_link"
# A second press within this time shows the same page but sends no second email, so the
# button cannot be used to flood an address.
EMAIL_GAP = timedelta(minutes=5)


@dataclass(frozen=True)
class SavedForLater:
    token: str
    emailed: str  # "sending", "recently" (a link went a few minutes ago) or "no_address"
    address: str | None  # the address, masked, that the link goes to


def mask_email(address: str) -> str:
    """``ada.byron@example.org`` → ``a•••@example.org``: enough to recognise, not to read out."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def save_for_later(*, inquiry: Inquiry, now: datetime, valid_for: timedelta) -> SavedForLater:
    """A link to show now, and the same kind of link put in the send ledger for the patient's
    address (at most one email per press, and none within EMAIL_GAP of the last)."""
    token = issue_resume_token(inquiry=inquiry, now=now, valid_for=valid_for)
    address, _name = patient_address(inquiry.lead, inquiry)
    cadence = effective_cadences().get(CADENCE)
    if address is None or cadence is None or not cadence.enabled:
        return SavedForLater(token, "no_address", None)
    if _emailed_since(inquiry, now - EMAIL_GAP):
        return SavedForLater(token, "recently", mask_email(address))
    schedule_send(
        key=send_key(inquiry.lead_id, CADENCE, inquiry.id, secrets.token_hex(8)),
        cadence=CADENCE,
        template=cadence.template,
        due_at=now + cadence.steps[0],
        now=now,
        lead_id=inquiry.lead_id,
        inquiry_id=inquiry.id,
    )
    return SavedForLater(token, "sending", mask_email(address))


def _emailed_since(inquiry: Inquiry, since: datetime) -> bool:
    return bool(
        db.session.scalar(
            db.select(func.count(Send.id)).where(
                Send.inquiry_id == inquiry.id, Send.cadence == CADENCE, Send.created_at > since
            )
        )
    )


@dataclass(frozen=True)
class WelcomeBack:
    name: str | None
    finished: int  # how many steps were finished
    total: int
    last_title: str | None  # the title of the last finished step
    next_title: str | None  # None when every question is answered


def where_left_off(*, inquiry: Inquiry, questionnaire: Questionnaire, now: datetime):
    """Who is back, and how far they had got: every step before the first one with a
    required question unanswered is finished."""
    lead = inquiry.lead
    name = lead.caregiver_first_name if lead.filled_by == "someone_else" else lead.first_name
    upcoming = first_incomplete_step(
        questionnaire, all_answers(inquiry, questionnaire), today=now.date()
    )
    steps = questionnaire.steps
    finished = questionnaire.step_index(upcoming) if upcoming else len(steps)
    return WelcomeBack(
        name=name or lead.first_name,
        finished=finished,
        total=len(steps),
        last_title=steps[finished - 1].title if finished else None,
        next_title=questionnaire.step(upcoming).title if upcoming else None,
    )
