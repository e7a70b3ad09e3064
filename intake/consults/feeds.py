"""A staff member's private calendar feed: a secret address a calendar app subscribes to.

The secret is shown once and kept only as its SHA-256; a new one revokes the old, so a leaked
address is ended by replacing or revoking it. The feed says when and which lead, never who:
no patient name, email, phone or health detail ever goes into it."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from intake.extensions import db
from intake.models import CalendarFeed, Consult, StaffUser

PAST_DAYS = 30


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_feed(*, staff_user_id: int, now: datetime) -> str:
    """A new feed for the member, revoking any other; returns the secret (never stored)."""
    revoke_feeds(staff_user_id=staff_user_id, now=now)
    secret = secrets.token_urlsafe(32)
    db.session.add(
        CalendarFeed(staff_user_id=staff_user_id, token_hash=_hash(secret), created_at=now)
    )
    db.session.flush()
    return secret


def revoke_feeds(*, staff_user_id: int, now: datetime) -> int:
    """End every live feed of the member; how many there were."""
    result = db.session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.staff_user_id == staff_user_id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.flush()
    return result.rowcount


def live_feed(staff_user_id: int) -> CalendarFeed | None:
    """The member's feed in use, if any."""
    return db.session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.staff_user_id == staff_user_id, CalendarFeed.revoked_at.is_(None)
        )
    )


def feed_owner(secret: str) -> StaffUser | None:
    """The active member whose live feed has this secret; None for anything else."""
    return db.session.scalar(
        select(StaffUser)
        .join(CalendarFeed, CalendarFeed.staff_user_id == StaffUser.id)
        .where(
            CalendarFeed.token_hash == _hash(secret),
            CalendarFeed.revoked_at.is_(None),
            StaffUser.active,
        )
    )


def feed_calendar(*, staff_user_id: int, now: datetime, lead_url: Callable[[int], str]) -> bytes:
    """The member's consults from 30 days ago to the booking horizon, as an iCalendar file."""
    horizon = now + timedelta(days=current_app.config["INTAKE_CONSULT_HORIZON_DAYS"])
    consults = db.session.scalars(
        select(Consult)
        .where(
            Consult.staff_user_id == staff_user_id,
            Consult.starts_at >= now - timedelta(days=PAST_DAYS),
            Consult.starts_at <= horizon,
        )
        .order_by(Consult.starts_at, Consult.id)
    )
    from icalendar import Calendar  # only a feed subscription needs it

    calendar = Calendar()
    calendar.add("prodid", "-//intake//staff calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Consults")
    for consult in consults:
        calendar.add_component(_event(consult, now=now, url=lead_url(consult.lead_id)))
    return calendar.to_ical()


def _event(consult: Consult, *, now: datetime, url: str):
    from icalendar import Event

    event = Event()
    event.add("uid", consult.uid)
    event.add("sequence", consult.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", consult.starts_at)
    event.add("dtend", consult.ends_at)
    event.add("summary", f"Consult, lead {consult.lead_id}")
    event.add("url", url)
    event.add("status", "CANCELLED" if consult.status == "cancelled" else "CONFIRMED")
    return event
