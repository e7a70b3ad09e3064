"""Merging two leads of one person: their consult, its waiting messages and their tasks go with
them, and an un-merge brings them back; two booked consults must be settled first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.consults import booking
from intake.extensions import db
from intake.leads.merges import merge_leads, unmerge
from intake.leads.pipeline import TransitionError
from intake.models import LeadMerge, Send, StaffTask
from tests.consults.support import NOW, TUESDAY_TEN, make_consult_type
from tests.factories import make_lead, make_staff


def book(lead, consult_type, at=TUESDAY_TEN):
    return booking.book(lead=lead, consult_type=consult_type, starts_at=at, booked_by="staff",
                        actor=None, now=NOW)  # fmt: skip


def test_a_duplicates_consult_and_tasks_follow_the_person_and_come_back_on_unmerge(ctx):
    consult_type, _ = make_consult_type()
    keep, duplicate = make_lead(), make_lead(first_name="Ada M.")
    consult = book(duplicate, consult_type)
    task = StaffTask(lead_id=duplicate.id, assignee_id=make_staff().id, due_at=NOW, created_at=NOW)
    db.session.add(task)
    db.session.flush()
    merge_leads(keep=keep, duplicate=duplicate, actor=None, now=NOW)
    db.session.refresh(consult)
    db.session.refresh(task)
    assert (consult.lead_id, task.lead_id) == (keep.id, keep.id)
    assert (keep.consult_at, duplicate.consult_at) == (TUESDAY_TEN, None)
    waiting = db.session.scalars(select(Send).where(Send.consult_id == consult.id)).all()
    assert {row.lead_id for row in waiting} == {keep.id}
    merge = db.session.scalar(select(LeadMerge))
    unmerge(merge=merge, kept=keep, merged=duplicate, actor=None, days=30,
            now=NOW + timedelta(hours=1))  # fmt: skip
    db.session.refresh(consult)
    db.session.refresh(task)
    assert (consult.lead_id, task.lead_id) == (duplicate.id, duplicate.id)
    assert duplicate.consult_at == TUESDAY_TEN


def test_two_booked_consults_are_settled_before_a_merge(ctx):
    consult_type, _ = make_consult_type()
    keep, duplicate = make_lead(), make_lead(first_name="Ada M.")
    book(keep, consult_type)
    book(duplicate, consult_type, at=TUESDAY_TEN + timedelta(hours=1))
    with pytest.raises(TransitionError, match="Both leads have a consult booked"):
        merge_leads(keep=keep, duplicate=duplicate, actor=None, now=NOW)
