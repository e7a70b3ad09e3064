"""QUALITY.md R9 (bookings): 20 parallel attempts at one slot, on PostgreSQL and on SQLite, give
exactly one booking and 19 clear answers with the next free times; never an error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from intake.consults import booking
from intake.extensions import db
from intake.models import Consult, ConsultType, Lead, Send
from tests.consults.support import NOW, TUESDAY_TEN, make_consult_type
from tests.factories import make_lead

ATTEMPTS = 20


def test_twenty_parallel_bookings_of_one_slot_give_one_booking(app_factory):
    # A connection for every attempt at once (the default pool holds 15).
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": ATTEMPTS, "hide_parameters": True})
    with app.app_context():
        consult_type, _ = make_consult_type()
        leads = [make_lead(email=f"patient{n}@example.org", status="contacted").id
                 for n in range(ATTEMPTS)]  # fmt: skip
        type_id = consult_type.id
        db.session.commit()
    start = threading.Barrier(ATTEMPTS)

    def attempt(lead_id: int) -> str:
        with app.app_context():
            start.wait(timeout=30)
            lead = db.session.get(Lead, lead_id)
            consult_type = db.session.get(ConsultType, type_id)
            try:
                booking.book(lead=lead, consult_type=consult_type, starts_at=TUESDAY_TEN,
                             booked_by="patient", actor=None, now=NOW)  # fmt: skip
                db.session.commit()
                return "booked"
            except booking.SlotTaken as taken:
                db.session.rollback()
                assert str(taken) and taken.next_free, "a clash names other free times"
                assert all(slot.starts_at != TUESDAY_TEN for slot in taken.next_free)
                return "taken"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        answers = list(pool.map(attempt, leads, timeout=120))

    assert sorted(answers) == ["booked"] + ["taken"] * (ATTEMPTS - 1)
    with app.app_context():
        booked = db.session.scalars(select(Consult).where(Consult.status == "booked")).all()
        assert len(booked) == 1 and booked[0].starts_at == TUESDAY_TEN
        # Only the winner's messages are in the ledger; the others left nothing behind.
        senders = db.session.scalar(select(func.count(func.distinct(Send.lead_id))))
        assert senders == 1
        assert db.session.get(Lead, booked[0].lead_id).status == "consult_scheduled"
