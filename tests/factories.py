"""Rows built directly, one factory each: leads with their consents, inquiries, staff accounts,
teams, routing rules, ledger sends, and completed inquiries with their cadence steps (the drills
and the benchmarks). Keyword arguments with explicit times; each flushes and
never commits, except ``saved_lead``, ``seeded_lead`` and ``paired``, which are whole units of
work for screen tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import func, select

from intake.accounts.signin import seal_totp_secret
from intake.extensions import db
from intake.messaging.cadences import load_cadences
from intake.messaging.followups import cadence_key
from intake.messaging.sends import schedule_send, send_key
from intake.models import (
    AuditEvent,
    Consent,
    DuplicatePair,
    Inquiry,
    Lead,
    RoutingRule,
    Send,
    StaffUser,
    Team,
    TeamMember,
)
from intake.models.types import utcnow
from intake.questionnaire.definition import load_definition

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 09:00 in New York, 23:00 in Tokyo
ADDRESS = "ada.byron@example.org"
EMAIL_PURPOSES = ("contact_email", "follow_up_emails", "resume_reminders")
LEAD = dict(
    filled_by="self", first_name="Ada", last_name="Byron", email=ADDRESS, phone="+12025550143",
    country="US", time_zone="America/New_York", time_zone_source="browser", created_at=NOW,
    last_inquiry_at=NOW, incomplete=False, status="new",
)  # fmt: skip
PASSWORD = "correct horse battery staple"
# argon2 is slow on purpose: hash the shared test password once, not once per account.
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)
_numbers = itertools.count(1)
INQUIRY_FORM = load_definition("ms_inquiry").questionnaire


def add(row):
    """Add a row and flush, so it has its id."""
    db.session.add(row)
    db.session.flush()
    return row


def make_lead(*, consents: tuple[str, ...] = EMAIL_PURPOSES, **fields) -> Lead:
    """A lead (Ada Byron unless ``fields`` say otherwise) who granted these consents an hour
    before NOW."""
    lead = add(Lead(**{**LEAD, **fields}))
    for purpose in consents:
        record_consent(lead, purpose, granted=True, at=NOW - timedelta(hours=1))
    return lead


def saved_lead(app, *, consents: tuple[str, ...] = (), inquiry: str | None = None, **fields) -> int:
    """``make_lead`` committed in its own app context, with an inquiry of status ``inquiry``
    if given; the lead's id."""
    with app.app_context():
        lead = make_lead(consents=consents, **fields)
        if inquiry is not None:
            make_inquiry(lead, status=inquiry)
        db.session.commit()
        return lead.id


def seeded_lead(app, **fields) -> int:
    """A lead with its email consents and one complete inquiry."""
    return saved_lead(app, consents=EMAIL_PURPOSES, inquiry="complete", **fields)


def paired(app, first_id: int, second_id: int, reason: str = "same email, different name"):
    """Record two seeded leads as a possible duplicate, as an overlapping inquiry would."""
    with app.app_context():
        low, high = sorted((first_id, second_id))
        pair = DuplicatePair(lead_id=low, other_id=high, reason=reason, status="open", found_at=NOW)
        db.session.add(pair)
        db.session.commit()
        return pair.id


def record_consent(lead: Lead, purpose: str, *, granted: bool, at: datetime) -> None:
    add(
        Consent(lead_id=lead.id, purpose=purpose, granted=granted, text_version="test",
                text_hash="0" * 64, source="inquiry_form", recorded_at=at)
    )  # fmt: skip


def make_inquiry(
    lead: Lead, status: str = "draft", *, unique_key: bool = False, **fields
) -> Inquiry:
    """An inquiry of ``lead``; ``unique_key`` draws a random submission key."""
    key = uuid.uuid4().hex if unique_key else f"key-{lead.id}-{len(lead.inquiries)}"
    defaults = dict(
        submission_key=key, questionnaire_id="ms-inquiry", questionnaire_version="test",
        started_at=NOW,
    )  # fmt: skip
    return add(Inquiry(lead=lead, status=status, **{**defaults, **fields}))


def make_staff(
    role: str = "coordinator",
    *,
    name: str | None = None,
    email: str | None = None,
    team: str | None = None,
    **fields,
) -> StaffUser:
    """A staff account with the shared password and a confirmed second factor. ``team`` (a name)
    adds it to that team, created once."""  # fmt: skip
    number = next(_numbers)
    user = add(
        StaffUser(
            email=email or f"{role}{number}@clinic.example",
            name=name or f"{role.title()} {number}",
            role=role,
            password_hash=PASSWORD_HASH,
            must_change_password=False,
            totp_confirmed_at=fields.pop("totp_confirmed_at", utcnow()),
            **fields,
        )
    )
    seal_totp_secret(user, pyotp.random_base32())
    if team is not None:
        row = db.session.scalar(select(Team).where(Team.name == team)) or add(Team(name=team))
        add(TeamMember(team_id=row.id, staff_user_id=user.id))
    return user


def make_team(name: str, members=(), *, strategy: str = "round_robin", **fields) -> Team:
    team = add(Team(name=name, strategy=strategy, **fields))
    db.session.add_all(TeamMember(team_id=team.id, staff_user_id=member.id) for member in members)
    return team


def make_rule(name: str, team: Team, *, priority: int = 100, **conditions) -> RoutingRule:
    return add(RoutingRule(name=name, team_id=team.id, priority=priority, conditions=conditions))


def make_send(
    template: str, *, step: int = 0, lead=None, staff=None, inquiry=None, at: datetime = NOW
) -> Send:
    """A ledger row scheduled (due ``at``) as the services schedule it."""
    ids = {"lead_id": lead and lead.id, "staff_user_id": staff and staff.id}
    key = send_key(ids["lead_id"], template, step, ids["staff_user_id"])
    schedule_send(
        key=key, cadence=template, template=template, step=step, due_at=at, now=at,
        inquiry_id=inquiry and inquiry.id, **ids,
    )  # fmt: skip
    return db.session.scalar(select(Send).where(Send.key == key))


def add_patient(*, number: int, time_zone: str, purposes: tuple[str, ...], now) -> Inquiry:
    """A completed inquiry on a new lead, with its consents, as the inquiry form leaves them."""
    lead = Lead(
        created_at=now,
        last_inquiry_at=now,
        status="new",
        incomplete=False,
        filled_by="self",
        first_name=f"Pat{number}",
        last_name="Drill",
        email=f"patient{number:04d}@example.org",
        preferred_contact_method="email",
        country="US",
        time_zone=time_zone,
        time_zone_source="browser",
    )
    inquiry = Inquiry(
        lead=lead,
        submission_key=uuid.uuid4().hex,
        status="complete",
        questionnaire_id=INQUIRY_FORM.id,
        questionnaire_version=INQUIRY_FORM.version,
        steps_saved=len(INQUIRY_FORM.steps),
        started_at=now,
        completed_at=now,
    )
    db.session.add(inquiry)
    for item in INQUIRY_FORM.steps[-1].items:
        if item.consent in purposes:
            db.session.add(
                Consent(
                    lead=lead,
                    inquiry=inquiry,
                    purpose=item.consent,
                    granted=True,
                    text_version=INQUIRY_FORM.version,
                    text_hash=item.text_hash,
                    source="inquiry_form",
                    recorded_at=now,
                )
            )
    return inquiry


def schedule_step(cadence_name: str, inquiry: Inquiry, *, step: int, due_at, now) -> None:
    """The ledger row ``plan_followups`` would make for this cadence step, due at ``due_at``."""
    cadence = load_cadences()[cadence_name]
    schedule_send(
        key=cadence_key(cadence, lead_id=inquiry.lead_id, inquiry_id=inquiry.id, step=step),
        cadence=cadence.name,
        template=cadence.template,
        step=step,
        due_at=due_at,
        now=now,
        lead_id=inquiry.lead_id,
        inquiry_id=inquiry.id,
    )


def audit_count(app, **where) -> int:
    """How many audit rows match ``where`` (column=value)."""
    with app.app_context():
        query = select(func.count()).select_from(AuditEvent)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return db.session.scalar(query)


def last_audit(app) -> AuditEvent:
    """The newest audit row, detached so it can be read after the context closes."""
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        db.session.expunge(row)
        return row
