"""Booking, moving, cancelling and closing consults through the one service, on both
databases: the slot rules, the lead's pipeline and timeline, and the ledger rows that follow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from intake.consults import booking
from intake.consults.messages import send_time_stop
from intake.extensions import db
from intake.leads.pipeline import TransitionError
from intake.messaging.mail import render_message
from intake.models import Consult, LeadEvent, Send
from tests.consults.support import NOW, TUESDAY_TEN, make_consult_type
from tests.factories import make_lead, make_staff

HALF_HOUR = timedelta(minutes=30)


def book(lead, consult_type, at=TUESDAY_TEN, now=NOW, **more):
    return booking.book(lead=lead, consult_type=consult_type, starts_at=at, booked_by="staff",
                        actor=None, now=now, **more)  # fmt: skip


def ledger(consult) -> dict[str, str]:
    rows = db.session.scalars(select(Send).where(Send.consult_id == consult.id).order_by(Send.id))
    return {row.key.split(":", 2)[2]: row.status for row in rows}


def test_booking_takes_a_free_slot_and_moves_the_lead_on(ctx):
    consult_type, (host,) = make_consult_type()
    lead = make_lead(status="contacted")
    consult = book(lead, consult_type)
    db.session.commit()
    assert (consult.staff_user_id, consult.starts_at, consult.ends_at, consult.sequence) == (
        host.id, TUESDAY_TEN, TUESDAY_TEN + HALF_HOUR, 0)  # fmt: skip
    assert lead.status == "consult_scheduled" and lead.consult_at == TUESDAY_TEN
    kinds = db.session.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == lead.id))
    assert {"consult_scheduled", "status_changed"} <= set(kinds)
    # A confirmation now and reminders 24 h and 2 h before.
    assert ledger(consult) == {"0:confirmation:0": "scheduled", "0:reminder:0": "scheduled",
                               "0:reminder:1": "scheduled"}  # fmt: skip
    due = {row.key.rsplit(":", 2)[1] + row.key[-1]: row.due_at for row in
           db.session.scalars(select(Send).where(Send.consult_id == consult.id))}  # fmt: skip
    assert due == {"confirmation0": NOW, "reminder0": TUESDAY_TEN - timedelta(hours=24),
                   "reminder1": TUESDAY_TEN - timedelta(hours=2)}  # fmt: skip


def test_a_taken_time_is_answered_with_the_next_free_ones(ctx):
    consult_type, _ = make_consult_type()
    book(make_lead(), consult_type)
    with pytest.raises(booking.SlotTaken) as taken:
        book(make_lead(email="grace@example.org"), consult_type)
    assert "taken" in str(taken.value) and taken.value.field == "slot"
    offered = [slot.starts_at for slot in taken.value.next_free]
    assert offered == [TUESDAY_TEN + n * HALF_HOUR for n in (1, 2, 3)]


def test_a_second_host_takes_the_same_time(ctx):
    consult_type, hosts = make_consult_type(hosts=2)
    first = book(make_lead(), consult_type)
    second = book(make_lead(email="grace@example.org"), consult_type)
    assert {first.staff_user_id, second.staff_user_id} == {host.id for host in hosts}


@pytest.mark.parametrize(
    ("at", "why"),
    [
        (NOW + timedelta(hours=2), "inside the 12-hour notice"),
        (TUESDAY_TEN + timedelta(hours=5), "after the host's hours"),
        (TUESDAY_TEN + timedelta(minutes=10), "not on a slot's start"),
        (NOW + timedelta(days=40), "beyond the booking horizon"),
    ],
)
def test_times_outside_the_offered_slots_are_refused(ctx, at, why):
    consult_type, _ = make_consult_type()
    with pytest.raises(booking.SlotTaken):
        book(make_lead(), consult_type, at=at)


def test_a_lead_holds_one_booking_and_closed_leads_none(ctx):
    consult_type, _ = make_consult_type()
    lead = make_lead()
    book(lead, consult_type)
    with pytest.raises(TransitionError, match="already has a consult"):
        book(lead, consult_type, at=TUESDAY_TEN + HALF_HOUR)
    for status in ("do_not_contact", "not_interested"):
        with pytest.raises(TransitionError, match="no consult can be booked"):
            book(make_lead(status=status, email=f"{status}@example.org"), consult_type)


def test_moving_supersedes_the_old_times_messages(ctx):
    consult_type, _ = make_consult_type()
    lead = make_lead()
    consult = book(lead, consult_type)
    later = NOW + timedelta(minutes=5)
    booking.move(consult=consult, starts_at=TUESDAY_TEN + 2 * HALF_HOUR, actor=None, now=later)
    assert consult.sequence == 1 and lead.consult_at == TUESDAY_TEN + 2 * HALF_HOUR
    assert ledger(consult) == {
        "0:confirmation:0": "cancelled", "0:reminder:0": "cancelled", "0:reminder:1": "cancelled",
        "1:update:0": "scheduled", "1:reminder:0": "scheduled", "1:reminder:1": "scheduled",
    }  # fmt: skip
    # Its old time is free again; the new one is not.
    other = book(make_lead(email="grace@example.org"), consult_type, now=later)
    assert other.starts_at == TUESDAY_TEN
    with pytest.raises(booking.SlotTaken):
        book(make_lead(email="alan@example.org"), consult_type,
             at=TUESDAY_TEN + 2 * HALF_HOUR, now=later)  # fmt: skip


def test_cancelling_sends_one_cancellation_and_no_reminder(ctx):
    consult_type, _ = make_consult_type()
    lead = make_lead()
    consult = book(lead, consult_type)
    booking.cancel(consult=consult, actor=None, now=NOW)
    assert (consult.status, consult.sequence, lead.consult_at) == ("cancelled", 1, None)
    rows = ledger(consult)
    assert rows.pop("1:cancellation:0") == "scheduled"
    assert set(rows.values()) == {"cancelled"}
    # Checked again at send time too: a reminder row of the old time that slipped through stops.
    reminder = db.session.scalar(select(Send).where(Send.key.like("%:0:reminder:0")))
    assert send_time_stop(reminder, NOW) == "superseded"
    with pytest.raises(TransitionError, match="no longer booked"):
        booking.move(consult=consult, starts_at=TUESDAY_TEN, actor=None, now=NOW)


def test_outcomes_come_after_the_start_and_move_the_pipeline(ctx):
    consult_type, (host,) = make_consult_type()
    held, missed = make_lead(status="contacted"), make_lead(email="grace@example.org")
    first, second = book(held, consult_type), book(missed, consult_type, at=TUESDAY_TEN + HALF_HOUR)
    with pytest.raises(TransitionError, match="not started"):
        booking.record_outcome(consult=first, outcome="done", actor=host, now=NOW)
    after = TUESDAY_TEN + timedelta(hours=2)
    booking.record_outcome(consult=first, outcome="done", actor=host, now=after)
    assert (first.status, held.status) == ("done", "consult_done")
    booking.record_outcome(consult=second, outcome="no_show", actor=host, now=after)
    assert second.status == "no_show" and missed.consult_at is None
    rebook = db.session.scalars(
        select(Send.due_at).where(Send.cadence == "consult_rebook", Send.lead_id == missed.id)
    ).all()
    assert sorted(rebook) == [after + timedelta(days=1), after + timedelta(days=4)]
    # Booking again stops the invitations at send time.
    row = db.session.scalar(select(Send).where(Send.cadence == "consult_rebook"))
    assert send_time_stop(row, after) is None
    book(missed, consult_type, at=TUESDAY_TEN + timedelta(days=1), now=after)
    assert send_time_stop(row, after) == "rebooked"


def test_the_database_refuses_a_second_booking_of_one_host_and_time(ctx, backend):
    """Behind the service's lock: the unique index everywhere, and on PostgreSQL the exclusion
    constraint for overlapping times that start differently."""
    consult_type, (host,) = make_consult_type()
    first = book(make_lead(), consult_type)
    db.session.commit()
    row = dict(consult_type_id=consult_type.id, staff_user_id=host.id, status="booked",
               booked_by="staff", sequence=0, created_at=NOW, updated_at=NOW)  # fmt: skip
    clashes = [(first.starts_at, first.ends_at)]
    if backend == "postgresql":
        clashes.append((first.starts_at + timedelta(minutes=15), first.ends_at + HALF_HOUR))
    for n, (starts_at, ends_at) in enumerate(clashes):
        other = make_lead(email=f"other{n}@example.org")
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(
                insert(Consult).values(uid=f"clash{n}", lead_id=other.id, starts_at=starts_at,
                                       ends_at=ends_at, **row)
            )  # fmt: skip
        db.session.rollback()


def test_a_host_who_leaves_offers_no_more_times(ctx):
    consult_type, (host,) = make_consult_type()
    host.active = False
    with pytest.raises(booking.SlotTaken) as taken:
        book(make_lead(), consult_type)
    assert taken.value.next_free == []
    make_staff()  # someone else, not a host of this type, changes nothing
    assert booking.next_free(consult_type, after=NOW, now=NOW) == []


def test_a_patients_own_change_tells_the_owner_with_a_link_only(ctx):
    consult_type, (host,) = make_consult_type()
    owner = make_staff()
    lead = make_lead(owner_id=owner.id)
    consult = booking.book(lead=lead, consult_type=consult_type, starts_at=TUESDAY_TEN,
                           booked_by="patient", actor=None, now=NOW)  # fmt: skip
    booking.move(consult=consult, starts_at=TUESDAY_TEN + HALF_HOUR, actor=host, now=NOW)
    booking.cancel(consult=consult, actor=None, now=NOW)
    notices = db.session.scalars(select(Send).where(Send.cadence == "staff_consult")).all()
    # Booked and cancelled by the patient (sequences 0 and 2); the move was the host's.
    sent_for = [(row.staff_user_id, row.key.rsplit(":", 1)[1]) for row in notices]
    assert sent_for == [(owner.id, "0"), (owner.id, "2")]
    message = render_message(send=notices[0], now=NOW)
    assert message.recipient == owner.email
    assert f"/staff/leads/{lead.id}" in message.text
    for private in ("Ada", "Byron", lead.email, lead.phone):
        assert private not in message.text + message.html + message.subject
