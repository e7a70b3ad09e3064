"""One SLA state: the badge worked out in Python for a loaded lead and the filter's SQL
condition agree on every state, exactly at the boundaries, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import Lead
from intake.routing.sla import DUE_SOON, SLA_STATES, sla_condition, sla_state
from tests.factories import NOW, make_lead

TICK = timedelta(microseconds=1)
DUE, BREACHED, REMINDED, CONTACTED = (
    "sla_due_at", "sla_breached_at", "sla_reminded_at", "first_contacted_at",
)  # fmt: skip

# (case, the lead's SLA columns, its state at NOW)
CASES = [
    ("no deadline", {}, None),
    ("contacted before the deadline", {DUE: NOW + DUE_SOON, CONTACTED: NOW}, "met"),
    ("contacted after a breach", {DUE: NOW - TICK, BREACHED: NOW - TICK, CONTACTED: NOW}, "met"),
    ("contacted without a deadline", {CONTACTED: NOW}, "met"),
    ("due exactly now", {DUE: NOW}, "breached"),
    ("marked breached, due later", {DUE: NOW + DUE_SOON * 4, BREACHED: NOW - TICK}, "breached"),
    ("marked breached, no deadline", {BREACHED: NOW - TICK}, "breached"),
    ("due a moment from now", {DUE: NOW + TICK}, "due_soon"),
    ("due exactly DUE_SOON from now", {DUE: NOW + DUE_SOON}, "due_soon"),
    ("reminded, not yet due soon", {DUE: NOW + DUE_SOON + TICK, REMINDED: NOW - TICK}, "on_track"),
    ("due a moment after DUE_SOON from now", {DUE: NOW + DUE_SOON + TICK}, "on_track"),
]  # fmt: skip


@pytest.mark.parametrize(("columns", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_python_state_and_the_sql_condition_agree_at_each_boundary(app, columns, expected):
    with app.app_context():
        lead_id = make_lead(consents=(), **columns).id
        db.session.commit()
        db.session.expire_all()
        lead = db.session.get(Lead, lead_id)  # as read back from this backend

        matched = [
            state
            for state in SLA_STATES
            if db.session.scalar(
                select(Lead.id).where(Lead.id == lead_id, sla_condition(state, NOW))
            )
        ]

        assert sla_state(lead, NOW) == expected
        assert matched == ([] if expected is None else [expected])


def test_each_state_is_met_by_exactly_the_leads_the_python_state_names(app):
    """Every case in one table: each condition selects exactly the leads in its state."""
    with app.app_context():
        leads = [make_lead(consents=(), **columns) for _case, columns, _state in CASES]
        db.session.commit()
        db.session.expire_all()
        states = {lead.id: sla_state(db.session.get(Lead, lead.id), NOW) for lead in leads}

        for state in SLA_STATES:
            selected = set(db.session.scalars(select(Lead.id).where(sla_condition(state, NOW))))
            assert selected == {lead_id for lead_id, found in states.items() if found == state}
        assert sorted(states.values(), key=str) == sorted((c[2] for c in CASES), key=str)
