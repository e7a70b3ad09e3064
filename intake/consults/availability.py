"""Who can hold a consult type and when they are free, read from the database in a fixed
number of queries (hosts, their weekly hours, their day changes, what is booked)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from intake.consults.slots import DayChange, Host, Slot, Window, free_slots
from intake.display import zone_or
from intake.extensions import db
from intake.models import (
    AvailabilityException,
    AvailabilityWindow,
    Consult,
    ConsultType,
    ConsultTypeHost,
    StaffUser,
)


def clinic_holidays() -> frozenset[date]:
    """The clinic's holidays (INTAKE_HOLIDAYS): no consults on them for anyone."""
    return frozenset(date.fromisoformat(day) for day in current_app.config["INTAKE_HOLIDAYS"])


def booking_window(now: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest start a new booking may have, from ``now``."""
    config = current_app.config
    return (
        now + timedelta(hours=config["INTAKE_CONSULT_MIN_NOTICE_HOURS"]),
        now + timedelta(days=config["INTAKE_CONSULT_HORIZON_DAYS"]),
    )


def slot_step() -> timedelta:
    return timedelta(minutes=current_app.config["INTAKE_CONSULT_SLOT_MINUTES"])


def host_ids(consult_type_id: int) -> list[int]:
    """The active staff who may hold consults of this type, by id."""
    return list(
        db.session.scalars(
            select(ConsultTypeHost.staff_user_id)
            .join(StaffUser, StaffUser.id == ConsultTypeHost.staff_user_id)
            .where(ConsultTypeHost.consult_type_id == consult_type_id, StaffUser.active)
            .order_by(ConsultTypeHost.staff_user_id)
        )
    )


def load_hosts(
    staff_ids: list[int],
    *,
    start: datetime,
    end: datetime,
    ignore_consult_id: int | None = None,
) -> list[Host]:
    """Each host's hours, day changes and bookings around [start, end): four queries.

    ``ignore_consult_id``: a consult being moved does not block its own new time."""
    if not staff_ids:
        return []
    zones = dict(
        db.session.execute(
            select(StaffUser.id, StaffUser.time_zone).where(StaffUser.id.in_(staff_ids))
        ).all()
    )
    windows: dict[int, list[Window]] = defaultdict(list)
    for row in db.session.scalars(
        select(AvailabilityWindow).where(AvailabilityWindow.staff_user_id.in_(staff_ids))
    ):
        windows[row.staff_user_id].append(
            Window(
                row.weekday, time.fromisoformat(row.start_time), time.fromisoformat(row.end_time)
            )
        )
    changes: dict[int, list[DayChange]] = defaultdict(list)
    for row in db.session.scalars(
        select(AvailabilityException).where(
            AvailabilityException.staff_user_id.in_(staff_ids),
            AvailabilityException.day >= (start - timedelta(days=2)).date(),
            AvailabilityException.day <= (end + timedelta(days=2)).date(),
        )
    ):
        changes[row.staff_user_id].append(
            DayChange(
                row.day,
                row.available,
                time.fromisoformat(row.start_time) if row.start_time else None,
                time.fromisoformat(row.end_time) if row.end_time else None,
            )
        )
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    booked = select(Consult.staff_user_id, Consult.starts_at, Consult.ends_at).where(
        Consult.staff_user_id.in_(staff_ids),
        Consult.status == "booked",
        Consult.starts_at < end + timedelta(days=1),
        Consult.ends_at > start - timedelta(days=1),
    )
    if ignore_consult_id is not None:
        booked = booked.where(Consult.id != ignore_consult_id)
    for staff_id, starts_at, ends_at in db.session.execute(booked):
        busy[staff_id].append((starts_at, ends_at))
    fallback = current_app.config["INTAKE_CLINIC_TIME_ZONE"]
    return [
        Host(
            staff_user_id=staff_id,
            tz=zone_or(zones.get(staff_id), fallback),
            windows=tuple(windows[staff_id]),
            changes=tuple(changes[staff_id]),
            busy=tuple(busy[staff_id]),
        )
        for staff_id in staff_ids
        if staff_id in zones
    ]


def open_slots(
    consult_type: ConsultType,
    *,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    staff_ids: list[int] | None = None,
    ignore_consult_id: int | None = None,
) -> list[Slot]:
    """The free slots of a consult type from ``start`` (at the earliest, the minimum notice)
    to ``end`` (at the latest, the booking horizon), for its hosts or the ones given."""
    earliest, latest = booking_window(now)
    start = max(start or earliest, earliest)
    end = min(end or latest, latest)
    if start >= end:
        return []
    ids = host_ids(consult_type.id) if staff_ids is None else staff_ids
    hosts = load_hosts(ids, start=start, end=end, ignore_consult_id=ignore_consult_id)
    return free_slots(
        hosts,
        duration=timedelta(minutes=consult_type.duration_minutes),
        step=slot_step(),
        start=start,
        end=end,
        holidays=clinic_holidays(),
    )
