"""The pipeline's transition table, and the services that move a lead along it: what each
transition allows, the follow-ups it stops, the SLA clock, and assigning an owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.leads.pipeline import (
    TRANSITIONS,
    TransitionError,
    assign_lead,
    change_status,
    check_transition,
)
from intake.messaging.sends import schedule_send
from intake.models import CLOSED, PIPELINE, Send, StaffUser
from tests.factories import NOW, make_inquiry, make_lead


def test_open_leads_move_forward_one_or_two_steps():
    for index, status in enumerate(PIPELINE[:-1]):
        forward = [s for s in TRANSITIONS[status] if s in PIPELINE]
        assert forward == list(PIPELINE[index + 1 : index + 3])


def test_any_open_lead_can_be_closed_but_never_set_to_merged_by_hand():
    for status in PIPELINE[:-1]:
        assert {"not_eligible", "not_interested", "unreachable", "do_not_contact"} <= set(
            TRANSITIONS[status]
        )
        assert "merged" not in TRANSITIONS[status]
    with pytest.raises(TransitionError, match="only by merging"):
        check_transition("new", "merged", "duplicate")


def test_closed_leads_reopen_to_attempting_contact_except_do_not_contact_and_merged():
    for status in ("not_eligible", "not_interested", "unreachable"):
        assert "attempting_contact" in TRANSITIONS[status]
    assert TRANSITIONS["do_not_contact"] == () and TRANSITIONS["merged"] == ()
    with pytest.raises(TransitionError, match="asked not to be contacted"):
        check_transition("do_not_contact", "attempting_contact", "they called back")


def test_closing_needs_a_reason_and_skipping_ahead_is_refused_in_plain_words():
    with pytest.raises(TransitionError, match="Give a reason"):
        check_transition("contacted", "not_interested", "  ")
    with pytest.raises(TransitionError, match="cannot go from 'New' to 'Screening'"):
        check_transition("new", "screening")
    assert set(CLOSED) - {"merged"} <= set(TRANSITIONS["new"])


def test_leaving_new_cancels_nurture_and_reaching_contacted_stops_the_sla_clock(app):
    with app.app_context():
        lead = make_lead()
        schedule_send(key="n1", cadence="nurture", template="nurture", step=1,
                      due_at=NOW + timedelta(days=1), now=NOW, lead_id=lead.id)  # fmt: skip
        change_status(lead=lead, to="contacted", reason=None, actor=None, now=NOW)
        db.session.commit()
        nurture = db.session.scalar(select(Send).where(Send.key == "n1"))
        assert (nurture.status, nurture.finished_reason) == ("cancelled", "contacted")
        assert lead.first_contacted_at == NOW


def test_closing_cancels_resume_reminders_but_not_staff_notices(app):
    with app.app_context():
        lead = make_lead()
        inquiry = make_inquiry(lead)
        for key, cadence in (("r1", "resume_reminder"), ("s1", "staff_new_lead")):
            schedule_send(key=key, cadence=cadence, template=cadence, due_at=NOW, now=NOW,
                          lead_id=lead.id, inquiry_id=inquiry.id)  # fmt: skip
        change_status(lead=lead, to="not_interested", reason="Chose another clinic",
                      actor=None, now=NOW)  # fmt: skip
        db.session.commit()
        statuses = dict(db.session.execute(select(Send.key, Send.status)).all())
        assert statuses == {"r1": "cancelled", "s1": "scheduled"}


def test_assigning_notifies_the_new_owner_with_a_link_only_and_records_the_event(app, make_staff):
    owner_id = make_staff("coordinator")
    with app.app_context():
        lead = make_lead()
        owner = db.session.get(StaffUser, owner_id)
        event = assign_lead(lead=lead, owner=owner, actor=None, now=NOW)
        db.session.commit()
        notice = db.session.scalar(select(Send).where(Send.cadence == "staff_new_lead"))
        assert (notice.staff_user_id, notice.lead_id, notice.status) == (
            owner_id,
            lead.id,
            "scheduled",
        )
        assert (event.kind, event.data) == ("assigned", {"from": None, "to": owner_id})
        assert lead.owner_id == owner_id and lead.sla_due_at is not None
        with pytest.raises(TransitionError, match="already assigned"):
            assign_lead(lead=lead, owner=owner, actor=None, now=NOW)
