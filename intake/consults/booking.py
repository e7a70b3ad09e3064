"""Booking, moving, cancelling and closing consults: one service for staff and patients.

Two people can never hold one slot. The host is locked first (PostgreSQL ``FOR UPDATE`` on
their staff row; on SQLite an UPDATE that opens the write transaction before anything is read),
then the time is checked against what is free and the consult written. Behind the lock stand
the database's own guards: a unique index on (host, start) of booked consults everywhere, and
on PostgreSQL an exclusion constraint over the time ranges; one booked consult per lead. A
clash at any of them becomes ``SlotTaken`` with the next free times, never a server error.

Services flush, never commit: the caller (a view) commits and audits.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from intake.consults import messages
from intake.consults.availability import host_ids, open_slots
from intake.consults.closing import booked_consult, withdraw
from intake.consults.slots import Slot, first_per_time
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.leads.pipeline import TransitionError, add_event, allowed_targets, move_status
from intake.models import CLOSED, Consult, ConsultType, Lead, StaffUser

NEXT_FREE_SHOWN = 3


class SlotTaken(TransitionError):
    """The time is no longer free; ``next_free`` holds the soonest free times instead."""

    def __init__(self, next_free: list[Slot]) -> None:
        super().__init__(
            _l("Someone has just taken that time. Please choose another."), field="slot"
        )
        self.next_free = next_free


def _lock_host(staff_user_id: int) -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            select(StaffUser.id).where(StaffUser.id == staff_user_id).with_for_update()
        )
    else:  # opens SQLite's write transaction before the read below (and changes nothing)
        db.session.execute(
            update(StaffUser)
            .where(StaffUser.id == staff_user_id)
            .values(time_zone=StaffUser.time_zone)
            .execution_options(synchronize_session=False)
        )


def _bookable(lead: Lead) -> None:
    if lead.status == "do_not_contact":
        raise TransitionError(
            _l("The patient asked not to be contacted; no consult can be booked.")
        )
    if lead.status in CLOSED or lead.erased_at is not None:
        raise TransitionError(_l("This lead is closed; no consult can be booked."))


def _free_hosts(
    consult_type: ConsultType,
    starts_at: datetime,
    *,
    now: datetime,
    staff_user_id: int | None,
    ignore_consult_id: int | None = None,
) -> list[int]:
    """The hosts free for a consult starting at ``starts_at`` (the given one, or any), by id."""
    slots = open_slots(
        consult_type,
        now=now,
        start=starts_at,
        end=starts_at + timedelta(minutes=1),
        staff_ids=None if staff_user_id is None else [staff_user_id],
        ignore_consult_id=ignore_consult_id,
    )
    return [slot.staff_user_id for slot in slots if slot.starts_at == starts_at]


def next_free(consult_type: ConsultType, *, after: datetime, now: datetime) -> list[Slot]:
    """The soonest free times after ``after`` (one per time), for a clash's answer."""
    return first_per_time(open_slots(consult_type, now=now, start=after))[:NEXT_FREE_SHOWN]


def _taken(consult_type: ConsultType, starts_at: datetime, now: datetime) -> SlotTaken:
    return SlotTaken(next_free(consult_type, after=starts_at, now=now))


def _host_for(
    consult_type: ConsultType,
    starts_at: datetime,
    *,
    now: datetime,
    staff_user_id: int | None,
    ignore_consult_id: int | None = None,
) -> int:
    """Lock and return a host who is free at ``starts_at``, or raise ``SlotTaken``.

    Each candidate is locked, in id order (so two bookings never wait on each other in a
    circle), and read again behind the lock: a booking may have committed in between."""
    if staff_user_id is not None and staff_user_id not in host_ids(consult_type.id):
        raise TransitionError(_l("That person does not hold this kind of consult."), field="slot")
    for host in _free_hosts(consult_type, starts_at, now=now, staff_user_id=staff_user_id,
                            ignore_consult_id=ignore_consult_id):  # fmt: skip
        _lock_host(host)
        if _free_hosts(consult_type, starts_at, now=now, staff_user_id=host,
                       ignore_consult_id=ignore_consult_id):  # fmt: skip
            return host
    raise _taken(consult_type, starts_at, now)


def _flush_or_taken(consult_type: ConsultType, starts_at: datetime, now: datetime) -> None:
    """Write the change inside a savepoint; a guard's refusal becomes ``SlotTaken``."""
    savepoint = db.session.begin_nested()
    try:
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise _taken(consult_type, starts_at, now) from None
    savepoint.commit()


def _require_type(consult_type: ConsultType | None) -> ConsultType:
    if consult_type is None or not consult_type.active:
        raise TransitionError(_l("This kind of consult is not offered any more."))
    return consult_type


def book(
    *,
    lead: Lead,
    consult_type: ConsultType,
    starts_at: datetime,
    booked_by: str,
    actor: StaffUser | None,
    now: datetime,
    staff_user_id: int | None = None,
) -> Consult:
    """Book the lead into a free slot (with this host, or the first free at that time), send the
    confirmation and plan the reminders, and move the lead to ``consult_scheduled``."""
    _bookable(lead)
    _require_type(consult_type)
    if starts_at.tzinfo is None:
        raise ValueError("the consult time must be time-zone aware")
    if booked_consult(lead.id) is not None:
        raise TransitionError(_l("This patient already has a consult booked. Move it instead."))
    host = _host_for(consult_type, starts_at, now=now, staff_user_id=staff_user_id)
    consult = Consult(
        uid=f"{secrets.token_hex(16)}@{_uid_domain()}",
        lead_id=lead.id,
        consult_type_id=consult_type.id,
        staff_user_id=host,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=consult_type.duration_minutes),
        status="booked",
        booked_by=booked_by,
        created_by_id=actor.id if actor else None,
        created_at=now,
        updated_at=now,
    )
    db.session.add(consult)
    _flush_or_taken(consult_type, starts_at, now)
    _after_booking(lead, consult, "consult_scheduled", actor, now)
    messages.plan_booked(consult, now)
    if actor is None:
        messages.notify_staff(consult, lead, now)
    if "consult_scheduled" in allowed_targets(lead.status):
        move_status(
            lead=lead, to="consult_scheduled", actor=actor, now=now, data={"cause": "consult"}
        )
    return consult


def _uid_domain() -> str:
    return urlsplit(current_app.config["INTAKE_BASE_URL"]).hostname or "intake.local"


def _after_booking(lead: Lead, consult: Consult, kind: str, actor, now: datetime) -> None:
    lead.consult_at = consult.starts_at
    lead.updated_at = now
    add_event(
        lead=lead,
        kind=kind,
        actor=actor,
        now=now,
        data={
            "at": consult.starts_at.isoformat(),
            "consult_id": consult.id,
            "by": consult.booked_by if kind == "consult_scheduled" else _by(actor),
        },
    )


def _by(actor: StaffUser | None) -> str:
    return "staff" if actor is not None else "patient"


def _changeable(consult: Consult) -> None:
    if consult.status != "booked":
        raise TransitionError(_l("This consult is no longer booked."))


def move(
    *,
    consult: Consult,
    starts_at: datetime,
    actor: StaffUser | None,
    now: datetime,
    staff_user_id: int | None = None,
) -> Consult:
    """Move a booked consult to another free slot; the patient gets an update."""
    _changeable(consult)
    lead = db.session.get(Lead, consult.lead_id)
    _bookable(lead)
    consult_type = _require_type(db.session.get(ConsultType, consult.consult_type_id))
    if starts_at == consult.starts_at and staff_user_id in (None, consult.staff_user_id):
        return consult
    host = _host_for(
        consult_type, starts_at, now=now, staff_user_id=staff_user_id, ignore_consult_id=consult.id
    )
    consult.staff_user_id = host
    consult.starts_at = starts_at
    consult.ends_at = starts_at + timedelta(minutes=consult_type.duration_minutes)
    consult.sequence += 1
    consult.updated_at = now
    _flush_or_taken(consult_type, starts_at, now)
    _after_booking(lead, consult, "consult_moved", actor, now)
    messages.plan_moved(consult, now)
    if actor is None:
        messages.notify_staff(consult, lead, now)
    return consult


def cancel(*, consult: Consult, actor: StaffUser | None, now: datetime) -> Consult:
    """Cancel a booked consult; the patient gets a cancellation, and no reminder."""
    _changeable(consult)
    lead = db.session.get(Lead, consult.lead_id)
    withdraw(consult, lead, now, notify=True)
    if actor is None:
        messages.notify_staff(consult, lead, now)
    add_event(
        lead=lead,
        kind="consult_cancelled",
        actor=actor,
        now=now,
        data={"at": consult.starts_at.isoformat(), "consult_id": consult.id, "by": _by(actor)},
    )
    return consult


OUTCOMES = ("done", "no_show")


def record_outcome(*, consult: Consult, outcome: str, actor: StaffUser, now: datetime) -> Consult:
    """After its time, mark a consult done or no-show. Done moves the lead to ``consult_done``;
    a no-show starts the re-booking invitations."""
    if outcome not in OUTCOMES:
        raise TransitionError(_l("Choose whether the consult took place."))
    _changeable(consult)
    if consult.starts_at > now:
        raise TransitionError(_l("This consult has not started yet."))
    lead = db.session.get(Lead, consult.lead_id)
    consult.status = outcome
    consult.outcome_at = now
    consult.updated_at = now
    add_event(
        lead=lead,
        kind=f"consult_{outcome}",
        actor=actor,
        now=now,
        data={"at": consult.starts_at.isoformat(), "consult_id": consult.id},
    )
    if outcome == "done":
        if "consult_done" in allowed_targets(lead.status):
            move_status(
                lead=lead, to="consult_done", actor=actor, now=now, data={"cause": "consult"}
            )
    else:
        lead.consult_at = None
        messages.plan_no_show(consult, now)
    lead.updated_at = now
    return consult
