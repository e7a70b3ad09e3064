"""The demo's consults: a video consult with the clinician and a phone call with a coordinator,
each host's weekly hours taken from their working hours, and bookings made through the real
booking service at the moment staff would have made them."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from intake.consults.availability import open_slots
from intake.consults.booking import book, booked_consult, record_outcome
from intake.extensions import db
from intake.models import AvailabilityWindow, ConsultType, ConsultTypeHost, Lead, StaffUser

# name, kind, minutes, who holds it
TYPES = [
    ("Video consult with a doctor", "video", 45, "clinician"),
    ("Phone call with a coordinator", "phone", 30, "coordinator"),
]


def add_consult_types(people: list[StaffUser]) -> ConsultType:
    """The demo's consult types and their hosts' hours; returns the doctor's video consult."""
    made = []
    for name, kind, minutes, role in TYPES:
        consult_type = ConsultType(
            name=name,
            kind=kind,
            duration_minutes=minutes,
            video_url="https://video.demo.example.org/consult" if kind == "video" else None,
        )
        db.session.add(consult_type)
        db.session.flush()
        for person in (p for p in people if p.role == role):
            db.session.add(
                ConsultTypeHost(consult_type_id=consult_type.id, staff_user_id=person.id)
            )
        made.append(consult_type)
    for person in people:
        hours = person.working_hours
        db.session.add_all(
            AvailabilityWindow(staff_user_id=person.id, weekday=day, start_time=hours["start"],
                               end_time=hours["end"])
            for day in hours["days"]
        )  # fmt: skip
    db.session.flush()
    return made[0]


def book_demo_consult(
    rng: random.Random, consult_type: ConsultType, lead: Lead, owner: StaffUser, at: datetime
) -> datetime | None:
    """Book one of the first free times after ``at`` as ``owner``; the consult's start, or None
    when nothing is free. A consult already over by the demo's ``now`` is left for the caller to
    close with ``close_demo_consult``."""
    slots = open_slots(consult_type, now=at)[:8]
    if not slots:
        return None
    slot = rng.choice(slots)
    book(lead=lead, consult_type=consult_type, starts_at=slot.starts_at, booked_by="staff",
         actor=owner, now=at, staff_user_id=slot.staff_user_id)  # fmt: skip
    return slot.starts_at


def close_demo_consult(rng: random.Random, lead: Lead, owner: StaffUser) -> bool:
    """Mark the lead's past consult held (most) or missed; True when it was held."""
    consult = booked_consult(lead.id)
    held = rng.random() < 0.9
    record_outcome(consult=consult, outcome="done" if held else "no_show", actor=owner,
                   now=consult.ends_at + timedelta(minutes=5))  # fmt: skip
    return held
