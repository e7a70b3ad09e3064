"""Consult types, their hosts and the hosts' weekly hours, made directly (the admin pages that
make them are elsewhere)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import count

from intake.models import AvailabilityWindow, ConsultType, ConsultTypeHost
from tests.factories import add

WEEKDAYS = tuple(range(5))
_numbers = count(1)


def make_consult_type(
    *,
    hosts: Iterable[int] = (),
    windows: Iterable[tuple[int, str, str]] = tuple((day, "09:00", "12:00") for day in WEEKDAYS),
    name: str | None = None,
    **fields,
) -> ConsultType:
    """A consult type held by ``hosts`` (staff ids), each given the weekly ``windows``
    (weekday, start, end on the host's clock). Flushed, not committed."""
    consult_type = add(ConsultType(name=name or f"Consult {next(_numbers)}", **fields))
    for staff_id in hosts:
        add(ConsultTypeHost(consult_type_id=consult_type.id, staff_user_id=staff_id))
        for weekday, start, end in windows:
            add(AvailabilityWindow(staff_user_id=staff_id, weekday=weekday, start_time=start,
                                   end_time=end))  # fmt: skip
    return consult_type
