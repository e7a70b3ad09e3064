"""Consult rows for the booking tests: a video consult type held by hosts with weekday hours."""

from __future__ import annotations

from datetime import UTC, datetime

from intake.models import AvailabilityWindow, ConsultType, ConsultTypeHost
from tests.factories import add, make_staff

# Monday 3 May 2027, 12:00 UTC (08:00 in New York): the tests' "now".
NOW = datetime(2027, 5, 3, 12, 0, tzinfo=UTC)
# Tuesday 4 May, 10:00 in New York: past the 12-hour notice, inside the hosts' hours.
TUESDAY_TEN = datetime(2027, 5, 4, 14, 0, tzinfo=UTC)


def make_consult_type(*, hosts: int = 1, minutes: int = 30, name: str = "Video consult"):
    """A consult type and ``hosts`` new hosts in New York, each free 09:00-12:00 on weekdays;
    returns (the type, the hosts)."""
    consult_type = add(ConsultType(name=name, kind="video", duration_minutes=minutes,
                                   video_url="https://meet.example/room"))  # fmt: skip
    people = []
    for _ in range(hosts):
        person = make_staff("clinician", time_zone="America/New_York")
        add(ConsultTypeHost(consult_type_id=consult_type.id, staff_user_id=person.id))
        for weekday in range(5):
            add(AvailabilityWindow(staff_user_id=person.id, weekday=weekday,
                                   start_time="09:00", end_time="12:00"))  # fmt: skip
        people.append(person)
    return consult_type, people
