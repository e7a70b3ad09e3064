"""A lead closed or erased keeps no consult in a diary and no task on a list: the patient who
is not interested is told the consult is cancelled; one who asked for no contact, or was
erased, is sent nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.consults import booking
from intake.extensions import db
from intake.leads.pipeline import change_status
from intake.leads.retention import erase_lead
from intake.models import LeadEvent, Send, StaffTask
from tests.consults.support import NOW, TUESDAY_TEN, make_consult_type
from tests.factories import make_lead, make_staff


def booked_lead_with_task(consult_type):
    lead = make_lead(status="contacted")
    consult = booking.book(lead=lead, consult_type=consult_type, starts_at=TUESDAY_TEN,
                           booked_by="staff", actor=None, now=NOW)  # fmt: skip
    task = StaffTask(lead_id=lead.id, assignee_id=make_staff().id, due_at=NOW, created_at=NOW,
                     note_sealed="sealed words")  # fmt: skip
    db.session.add(task)
    db.session.flush()
    return lead, consult, task


def waiting(consult) -> dict[str, str]:
    rows = db.session.scalars(select(Send).where(Send.consult_id == consult.id))
    return {row.template: row.status for row in rows if row.status == "scheduled"}


@pytest.mark.parametrize(("to", "told"), [("not_interested", True), ("do_not_contact", False)])
def test_closing_withdraws_the_consult_and_the_tasks(ctx, to, told):
    consult_type, _ = make_consult_type()
    lead, consult, task = booked_lead_with_task(consult_type)
    change_status(lead=lead, to=to, reason="The patient said so.", actor=None, now=NOW)
    db.session.refresh(task)
    assert (consult.status, lead.consult_at, task.status) == ("cancelled", None, "cancelled")
    assert waiting(consult) == ({"consult_cancellation": "scheduled"} if told else {})
    events = db.session.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == lead.id))
    assert "consult_cancelled" in set(events)
    # Its time is free for someone else.
    other = booking.book(lead=make_lead(email="grace@example.org"), consult_type=consult_type,
                         starts_at=TUESDAY_TEN, booked_by="staff", actor=None, now=NOW)  # fmt: skip
    assert other.starts_at == TUESDAY_TEN


def test_erasure_withdraws_silently_and_drops_task_notes(ctx):
    consult_type, _ = make_consult_type()
    lead, consult, task = booked_lead_with_task(consult_type)
    assert erase_lead(lead=lead, actor=None, now=NOW)
    db.session.refresh(task)
    assert consult.status == "cancelled" and waiting(consult) == {}
    assert (task.status, task.note_sealed) == ("cancelled", None)
