"""The consult part of the lead page: the booked consult, and the free times to book or move to.

Queries: every consult type (1) and the lead's booked consult (1); when the lead can be booked
and a type is offered, that type's hosts (1) and their hours, day changes and bookings (4). The
free times are worked out in memory and cut to a page of ``SHOWN`` (a later page starts after
the last time shown: ``after``). Host names come from the page's staff names, already loaded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from intake.consults.availability import host_ids, open_slots
from intake.consults.booking import booked_consult
from intake.consults.slots import Slot, first_per_time
from intake.extensions import db
from intake.models import CLOSED, Consult, ConsultType, Lead

SHOWN = 12


def slot_value(moment: datetime) -> str:
    """A time as a form or link carries it: its POSIX seconds."""
    return str(int(moment.timestamp()))


@dataclass(frozen=True)
class SlotChoice:
    slot: Slot
    host: str

    @property
    def value(self) -> str:
        return slot_value(self.slot.starts_at)


@dataclass
class ConsultPanel:
    types: list[ConsultType]  # the active ones, by id
    consult_type: ConsultType | None  # whose free times are listed
    booked: Consult | None = None
    booked_type: str | None = None
    booked_host: str | None = None
    outcome_due: bool = False  # the booked consult has started: done or no-show can be marked
    bookable: bool = False
    hosts: list[tuple[int, str]] = field(default_factory=list)  # who may hold the listed type
    host_id: int | None = None  # the host chosen, if any
    slots: list[SlotChoice] = field(default_factory=list)
    after: datetime | None = None  # the times listed start after this (a later page)
    later: datetime | None = None  # where the next page starts, if there are more times

    @property
    def later_value(self) -> str | None:
        return slot_value(self.later) if self.later else None


def _bookable(lead: Lead) -> bool:
    return lead.status not in CLOSED and lead.status != "do_not_contact" and not lead.erased_at


def build_consult_panel(
    *,
    lead: Lead,
    names: Mapping[int, str],
    now: datetime,
    type_id: int | None = None,
    host_id: int | None = None,
    after: datetime | None = None,
    free_times: bool = True,
) -> ConsultPanel:
    """What the lead page shows of consults; ``type_id``, ``host_id`` and ``after`` are the
    viewer's choices for the list of free times (ignored when they name nothing offered);
    without ``free_times`` (a viewer who cannot book) no free time is looked up."""
    types = db.session.scalars(select(ConsultType).order_by(ConsultType.id))
    every = {row.id: row for row in types}
    active = [row for row in every.values() if row.active]
    booked = booked_consult(lead.id)
    panel = ConsultPanel(types=active, consult_type=None, booked=booked, bookable=_bookable(lead))
    if booked is not None:
        booked_type = every.get(booked.consult_type_id)
        panel.booked_type = booked_type.name if booked_type else None
        panel.booked_host = names.get(booked.staff_user_id)
        panel.outcome_due = booked.starts_at <= now
        chosen = booked_type if booked_type is not None and booked_type.active else None
    else:
        chosen = next((row for row in active if row.id == type_id), active[0] if active else None)
    panel.consult_type = chosen
    if chosen is None or not panel.bookable or not free_times:
        return panel
    hosts = host_ids(chosen.id)
    panel.hosts = [(staff_id, names.get(staff_id, f"#{staff_id}")) for staff_id in hosts]
    panel.host_id = host_id if host_id in hosts else None
    slots = open_slots(
        chosen,
        now=now,
        start=after,
        staff_ids=[panel.host_id] if panel.host_id else hosts,
        ignore_consult_id=booked.id if booked else None,
    )
    if panel.host_id is None:
        slots = first_per_time(slots)
    if booked is not None:  # its own time is not a time to move to
        slots = [slot for slot in slots if slot.starts_at != booked.starts_at]
    if after is not None:
        slots = [slot for slot in slots if slot.starts_at > after]
        panel.after = after
    panel.slots = [SlotChoice(slot, panel_name(names, slot)) for slot in slots[:SHOWN]]
    if len(slots) > SHOWN:
        panel.later = slots[SHOWN - 1].starts_at
    return panel


def panel_name(names: Mapping[int, str], slot: Slot) -> str:
    return names.get(slot.staff_user_id, f"#{slot.staff_user_id}")
