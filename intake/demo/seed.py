"""A believable month of sample leads for trying the service out (``intake serve --demo``).

Never real people: names are drawn from short lists, addresses are @example.org and phone
numbers are in the 555 range. Everything goes through the services the form, the workers and
the staff pages use (inquiries and their sealed answers, eligibility, consents, routing and its
decisions, follow-up plans, calls, status changes, consults, clinical decisions), each at its
own moment in the past, so the queue, lead pages and dashboard look like a clinic's.

The month is history, so three things are set as the workers would have left them: outbox
events are marked relayed, messages due before ``now`` are cancelled as sample history (the
timeline says they were never sent, and the worker does not mail a month of history), and a
first contact made after its deadline carries the breach the SLA sweep would have recorded.
Deterministic (a seeded random generator); a second run finds the demo staff and adds nothing.
"""

from __future__ import annotations

import random
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from intake.accounts.signin import hash_password
from intake.demo.consults import add_consult_types, book_demo_consult, close_demo_consult
from intake.demo.people import FIRST_NAMES, LAST_NAMES, PLACES, SOURCES, STAFF
from intake.extensions import db
from intake.inquiries.service import (
    Attribution,
    complete_inquiry,
    save_step,
)
from intake.inquiries.starting import start_inquiry
from intake.leads.pipeline import assign_lead, change_status
from intake.leads.work import log_call, record_decision
from intake.messaging.followups import plan_followups
from intake.models import (
    ConsultType,
    Inquiry,
    Lead,
    OutboxEvent,
    RoutingRule,
    Send,
    StaffUser,
    Team,
    TeamMember,
)
from intake.routing.business_hours import BusinessCalendar, add_business_hours
from intake.routing.service import (
    DEFAULT_TEAM,
    ensure_default_routing,
    reroute_if_better,
    route_lead,
)

CLINICAL_TEAM = "Clinical review"


@dataclass
class _Month:
    """What one demo run works with."""

    rng: random.Random
    now: datetime
    calendar: BusinessCalendar
    coordinators: list[StaffUser]
    clinician: StaffUser
    consult_type: ConsultType


def _staff(now: datetime) -> tuple[list[StaffUser], StaffUser] | None:
    """The demo's staff and teams; None when an earlier run already made them."""
    emails = [email for email, *_ in STAFF]
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email.in_(emails)).limit(1)):
        return None
    ensure_default_routing(now=now)
    # Nobody can sign in as them: one random password, hashed once, that nobody is told.
    password_hash = hash_password(secrets.token_urlsafe(24))
    people = [
        StaffUser(
            email=email,
            name=name,
            role=role,
            time_zone=zone,
            working_hours=hours,
            password_hash=password_hash,
            created_at=now - timedelta(days=60),
            last_sign_in_at=now - timedelta(days=1),
        )  # fmt: skip
        for email, name, role, zone, hours in STAFF
    ]
    db.session.add_all(people)
    db.session.flush()
    coordinators = [user for user in people if user.role == "coordinator"]
    clinician = next(user for user in people if user.role == "clinician")
    team = db.session.scalar(select(Team).where(Team.name == DEFAULT_TEAM))
    if team is None:  # an admin renamed it: make the demo's own
        team = Team(name="Demo coordinators", strategy="round_robin")
        db.session.add(team)
        db.session.flush()
        db.session.add(RoutingRule(name="Demo: everyone", priority=999, team_id=team.id))
    _replace_stand_in_admins(team)
    clinical = Team(name=CLINICAL_TEAM, strategy="round_robin", off_hours="hold")
    db.session.add(clinical)
    db.session.flush()
    db.session.add_all(TeamMember(team_id=team.id, staff_user_id=u.id) for u in coordinators)
    db.session.add(TeamMember(team_id=clinical.id, staff_user_id=clinician.id))
    rule = RoutingRule(name="Needs a clinician", priority=10, team_id=clinical.id)
    rule.conditions = {"eligibility_outcome": ["needs_review"]}
    db.session.add(rule)
    db.session.flush()
    return coordinators, clinician


def _replace_stand_in_admins(team: Team) -> None:
    """The default team holds the first admin only while there are no coordinators; the demo's
    coordinators take their place, as an admin would arrange it."""
    roles = db.session.execute(
        select(TeamMember.staff_user_id, StaffUser.role)
        .join(StaffUser, StaffUser.id == TeamMember.staff_user_id)
        .where(TeamMember.team_id == team.id)
    ).all()
    if roles and all(role == "admin" for _, role in roles):
        db.session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))


def _arrival(month: _Month) -> datetime:
    """A moment in the last 30 days: more on weekdays, most at lunch and in the evening."""
    rng = month.rng
    day = month.now - timedelta(
        days=rng.uniform(0, 1.5) if rng.random() < 0.1 else rng.uniform(0, 30)
    )
    local = day.astimezone(month.calendar.tz)
    if local.weekday() >= 5 and rng.random() < 0.5:
        local -= timedelta(days=2)
    hour = rng.choices(
        range(24), weights=[1] * 7 + [2, 3, 3, 4, 4, 5, 4, 3, 3, 4, 4, 5, 6, 6, 5, 3, 2]
    )[0]
    local = local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
    return min(local.astimezone(month.now.tzinfo), month.now - timedelta(minutes=20))


def _profile(rng: random.Random, born: datetime) -> dict[str, dict]:
    """Answers for the MS and health steps: most clear, some for review, a few excluded."""
    age = rng.randint(24, 68)
    roll = rng.random()
    health = {
        "date_of_birth": f"{born.year - age}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "cancer_5y": "yes" if roll < 0.05 else "no",
        "pregnancy": rng.choice(["no", "not_applicable"]),
        "active_infection": "no",
        "blood_thinners": "yes" if 0.05 <= roll < 0.13 else "no",
        "organ_disease": "yes" if 0.13 <= roll < 0.16 else "no",
        "able_to_travel": "no" if 0.16 <= roll < 0.18 else "yes",
    }
    about = {
        "diagnosed": "yes" if rng.random() < 0.96 else "not_sure",
        "ms_type": rng.choices(["RRMS", "SPMS", "PPMS", "CIS", "not_sure"], [6, 3, 2, 1, 1])[0],
        "diagnosis_year": str(rng.randint(1995, born.year - 1)),
        "mobility": rng.choices(
            ["unaided", "cane", "walker", "wheelchair_part_time"], [5, 3, 2, 1]
        )[0],
        "edss_known": "no",
        "on_dmt": rng.choice(["yes", "no"]),
        "relapse_12m": rng.choice(["yes", "no", "no"]),
        "symptoms": rng.sample(["fatigue", "walking", "vision", "numbness", "tremor", "pain"], 2),
        "prior_stem_cell": "no",
    }
    return {"about_ms": about, "health": health}


def _ascii(name: str) -> str:
    """A name as it would go into an email address: "Tomás" → "tomas"."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _contact(rng: random.Random, index: int) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country, region = rng.choice(PLACES)
    return {
        "filled_by": "self" if rng.random() < 0.8 else "someone_else",
        "first_name": first,
        "last_name": last,
        "caregiver_first_name": rng.choice(FIRST_NAMES),
        "caregiver_last_name": last,
        "caregiver_relationship": rng.choice(["Spouse", "Daughter", "Son", "Partner"]),
        "email": f"{_ascii(first)}.{_ascii(last)}.{index}@example.org",
        "phone": f"+1202555{index:04d}",
        "preferred_contact_method": rng.choice(["email", "phone", "phone", "text"]),
        "preferred_contact_time": rng.choice(["morning", "afternoon", "evening", "any"]),
        "country": country,
        "region": region,
        "heard_about": rng.choices(list(SOURCES), [SOURCES[s] for s in SOURCES])[0],
    }


SPANISH_EVERY = 5  # one inquiry in five in Spanish, as in a clinic's home state one adult in five
CONSENT = {
    "privacy_notice": True,
    "consent_email": True,
    "consent_phone": True,
    "consent_follow_up": True,
    "not_medical_advice": True,
}


def _inquire(month: _Month, index: int) -> Lead:
    """One inquiry from arrival to routing, completed (mostly) a few minutes later."""
    rng, definition = month.rng, current_app.extensions["intake.definition"]
    questionnaire, born = definition.questionnaire, _arrival(month)
    contact = _contact(rng, index)
    started = start_inquiry(
        questionnaire=questionnaire,
        answers=contact,
        attribution=Attribution(
            utm_source=rng.choice(["newsletter", "google", None]),
            utm_campaign="ms-msc-trials" if contact["heard_about"] == "article" else None,
        ),  # fmt: skip
        submission_key=f"demo-{index}",
        detected_time_zone=None,
        clinic_time_zone=month.calendar.tz.key,
        dedupe_window=timedelta(0),
        language="es" if index % SPANISH_EVERY == 0 else "en",
        now=born,
    )
    inquiry = db.session.get(Inquiry, started.id)
    lead = inquiry.lead
    plan_followups(topic="inquiry.started", lead_id=lead.id, inquiry_id=inquiry.id, now=born)
    route_lead(lead_id=lead.id, now=born + timedelta(seconds=30))
    if rng.random() < 0.15:
        return lead  # left unfinished, as real visitors do
    done = born + timedelta(minutes=rng.randint(4, 25))
    answers = {**_profile(rng, born), "consent": CONSENT}
    for step in questionnaire.steps[1:]:
        save_step(inquiry=inquiry, questionnaire=questionnaire, step=step,
                  answers=answers[step.id], now=done)  # fmt: skip
    complete_inquiry(inquiry=inquiry, definition=definition, now=done)
    plan_followups(topic="inquiry.completed", lead_id=lead.id, inquiry_id=inquiry.id, now=done)
    reroute_if_better(lead_id=lead.id, now=done + timedelta(seconds=30))
    return lead


def _later(month: _Month, start: datetime, hours: float) -> datetime:
    return add_business_hours(month.calendar, start, hours)


def _work(month: _Month, lead: Lead) -> None:
    """What the lead's owner (and the clinician) did with it, as far as ``now`` allows."""
    rng, now = month.rng, month.now
    late = rng.random() < 0.08
    first = _later(month, lead.created_at, rng.uniform(2.1, 5) if late else rng.uniform(0.1, 1.8))
    if first > now or lead.status != "new":
        return
    if lead.owner_id is None:
        route_lead(lead_id=lead.id, now=first)  # a held lead, taken when hours started
    owner = db.session.get(StaffUser, lead.owner_id) if lead.owner_id else None
    if owner is None:
        return
    if lead.owner_id == month.clinician.id and lead.eligibility_outcome == "needs_review":
        _review(month, lead, first)
        owner = rng.choice(month.coordinators)
        first = _later(month, first, rng.uniform(0.3, 1.5))
        if first > now:
            return
        assign_lead(lead=lead, owner=owner, actor=month.clinician, now=first)
    _calls(month, lead, owner, first)


NOTES = {
    "candidate": "Suitable for a consult; discuss medicines before travel.",
    "not_candidate": "Not suitable at present given the health answers.",
    "needs_more_information": "Ask for the latest neurologist letter.",
}


def _review(month: _Month, lead: Lead, at: datetime) -> None:
    decision = month.rng.choices(["candidate", "not_candidate", "needs_more_information"],
                                 [6, 2, 2])[0]  # fmt: skip
    note = NOTES[decision]
    record_decision(lead=lead, decision=decision, note=note, actor=month.clinician, now=at)


def _calls(month: _Month, lead: Lead, owner: StaffUser, at: datetime) -> None:
    """Up to three calls a business day apart; then the pipeline as far as time allows."""
    rng = month.rng
    for attempt in range(3):
        reached = rng.random() < 0.75
        outcome = "reached" if reached else rng.choice(["no_answer", "voicemail"])
        log_call(lead=lead, outcome=outcome, summary=None, actor=owner, now=at)
        _breach_as_swept(lead)
        if reached:
            return _pipeline(month, lead, owner, at)
        at = _later(month, at, rng.uniform(0.3, 1.5) if attempt == 0 else rng.uniform(4, 8))
        if at > month.now:
            return None
    change_status(lead=lead, to="unreachable", reason="Three calls, no answer.", actor=owner,
                  now=at)  # fmt: skip
    return None


def _breach_as_swept(lead: Lead) -> None:
    """A first contact after the deadline: the breach the SLA sweep would have recorded."""
    if lead.first_contacted_at and lead.sla_due_at and lead.first_contacted_at > lead.sla_due_at:
        lead.sla_breached_at = lead.sla_reminded_at = lead.sla_due_at


def _pipeline(month: _Month, lead: Lead, owner: StaffUser, at: datetime) -> None:
    """From contacted on: screening, a consult, a plan, or one of the closes; each step a
    few business days after the last, and many leads still on their way at ``now``."""
    rng, now = month.rng, month.now
    if lead.eligibility_outcome == "not_eligible" or lead.clinical_decision == "not_candidate":
        return _close(lead, "not_eligible", "Outside the clinic's criteria.", owner, at)
    for to, hours, drop in (("screening", (8, 40), 0.12), ("consult", (8, 40), 0.1)):
        at = _later(month, at, rng.uniform(*hours))
        if at > now:
            return None
        if rng.random() < drop:
            return _close(lead, "not_interested", "Decided not to go ahead for now.", owner, at)
        if to == "screening":
            change_status(lead=lead, to="screening", reason=None, actor=owner, now=at)
    consult = book_demo_consult(rng, month.consult_type, lead, owner, at)
    if consult is None or consult + timedelta(hours=1) > now:
        return None
    if not close_demo_consult(rng, lead, owner):
        return None
    planned = _later(month, consult, rng.uniform(16, 60))
    if planned <= now and rng.random() < 0.5:
        change_status(lead=lead, to="treatment_planned", reason=None, actor=owner, now=planned)
    return None


def _close(lead: Lead, to: str, reason: str, owner: StaffUser, at: datetime) -> None:
    change_status(lead=lead, to=to, reason=reason, actor=owner, now=at)


def _as_history(now: datetime, first_event: int, first_send: int) -> None:
    """The month as history: events relayed, past messages cancelled as never sent."""
    db.session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id > first_event, OutboxEvent.published_at.is_(None))
        .values(published_at=OutboxEvent.created_at)
    )
    db.session.execute(
        update(Send)
        .where(Send.id > first_send, Send.status == "scheduled", Send.due_at <= now)
        .values(status="cancelled", finished_reason="demo_history", claimed_at=Send.due_at)
    )


def add_demo_leads(*, now: datetime, count: int = 100) -> int:
    """Seed demo staff, teams and ``count`` leads spread over the last month; returns how many
    leads were added (0 when the demo was seeded before). The caller commits."""
    found = _staff(now)
    if found is None:
        return 0
    coordinators, clinician = found
    # bandit B311: seeded on purpose so the demo repeats; nothing secret is drawn.
    rng = random.Random(7)  # noqa: S311  # nosec B311
    calendar = BusinessCalendar.from_config(current_app.config)
    consult_type = add_consult_types([*coordinators, clinician])
    month = _Month(rng, now, calendar, coordinators, clinician, consult_type)
    first_event = db.session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0)))
    first_send = db.session.scalar(select(func.coalesce(func.max(Send.id), 0)))
    leads = sorted(
        (_inquire(month, index) for index in range(count)), key=lambda row: row.created_at
    )
    for lead in leads:
        _work(month, lead)
    _as_history(now, first_event, first_send)
    db.session.flush()
    return len(leads)
