"""The first-contact SLA: a reminder at 75 %, an escalation and reassignment at breach, once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import Lead, RoutingDecision
from intake.routing.business_hours import BusinessCalendar
from intake.routing.sla import reminder_at, sweep_sla
from tests.factories import make_rule, make_team
from tests.routing.conftest import NOW, at_once, member, new_lead, route, sends

# Routed at NOW (11:00 in New York) with 2 business hours: due 13:00, reminded from 12:30.
DUE = NOW + timedelta(hours=2)
REMIND = NOW + timedelta(hours=1, minutes=30)
NOTHING = {"escalated": 0, "reassigned": 0, "reminded": 0}


def sweep(now: datetime) -> dict:
    counts = sweep_sla(now=now)
    db.session.commit()
    return counts


CLINIC = BusinessCalendar(
    tz=ZoneInfo("America/New_York"), days=frozenset(range(5)), start=time(9), end=time(17)
)


def test_the_reminder_comes_at_the_given_fraction_of_the_open_hours_of_the_window():
    assigned = datetime(2024, 5, 15, 15, tzinfo=UTC)
    assert reminder_at(assigned, assigned + timedelta(hours=2), 0.75, CLINIC) == assigned + (
        timedelta(minutes=90)
    )
    friday = datetime(2024, 5, 17, 20, 30, tzinfo=UTC)  # 16:30 in New York; due Monday 10:30
    monday_10 = datetime(2024, 5, 20, 14, tzinfo=UTC)  # 1.5 of the 2 open hours: Monday 10:00
    assert reminder_at(friday, friday + timedelta(hours=66), 0.75, CLINIC) == monday_10
    night = datetime(2024, 5, 18, 1, 15, tzinfo=UTC)  # Friday 21:15; due Monday 11:00
    monday_1030 = datetime(2024, 5, 20, 14, 30, tzinfo=UTC)
    assert reminder_at(night, monday_1030 + timedelta(minutes=30), 0.75, CLINIC) == monday_1030


@pytest.fixture
def team(app):
    """Ana and Ben on a round-robin team led by Lee; one admin."""
    with app.app_context():
        people = {
            "Ana": member("Ana"),
            "Ben": member("Ben"),
            "Lee": member("Lee"),
            "Root": member("Root", role="admin"),
        }
        members = [people["Ana"], people["Ben"]]
        make_rule("Everyone", make_team("All", members, lead_staff_id=people["Lee"].id))
        db.session.commit()
        yield people


def test_the_owner_is_reminded_once_at_75_percent(team):
    lead = new_lead()
    route(lead)
    assert db.session.get(Lead, lead.id).sla_due_at == DUE

    assert sweep(REMIND - timedelta(seconds=1)) == NOTHING
    assert sweep(REMIND) == {**NOTHING, "reminded": 1}
    assert sweep(REMIND + timedelta(minutes=10)) == NOTHING

    [reminder] = sends("sla_reminder")
    assert reminder.key == f"{lead.id}:sla_reminder:{NOW.isoformat()}"
    assert (reminder.staff_user_id, reminder.lead_id) == (team["Ana"].id, lead.id)
    assert db.session.get(Lead, lead.id).sla_reminded_at == REMIND


def test_a_breach_alerts_the_team_lead_once_and_reassigns_to_someone_else(team):
    lead = new_lead()
    route(lead)
    sweep(REMIND)

    assert sweep(DUE - timedelta(seconds=1)) == NOTHING
    assert sweep(DUE) == {**NOTHING, "escalated": 1, "reassigned": 1}
    assert sweep(DUE) == NOTHING

    [escalation] = sends("sla_escalation")
    assert escalation.staff_user_id == team["Lee"].id
    assert escalation.key == f"{lead.id}:sla_escalation:{NOW.isoformat()}:{team['Lee'].id}"
    lead = db.session.get(Lead, lead.id)
    assert (lead.owner_id, lead.assigned_at) == (team["Ben"].id, DUE)
    assert (lead.sla_reminded_at, lead.sla_breached_at) == (None, None)
    assert lead.sla_due_at == DUE + timedelta(hours=2)  # a fresh clock for the new owner
    assert [notice.staff_user_id for notice in sends("staff_new_lead")] == [
        team["Ana"].id,
        team["Ben"].id,
    ]


def test_a_sweep_that_comes_late_escalates_without_a_reminder_first(team):
    route(new_lead())
    assert sweep(DUE + timedelta(hours=1)) == {**NOTHING, "escalated": 1, "reassigned": 1}
    assert sends("sla_reminder") == []


def test_a_breach_with_nobody_else_available_keeps_the_owner_and_alerts_admins(team):
    team["Ben"].active = False
    lead = new_lead()
    route(lead)

    assert sweep(DUE) == {**NOTHING, "escalated": 1}
    assert sweep(DUE + timedelta(hours=1)) == NOTHING

    lead = db.session.get(Lead, lead.id)
    assert (lead.owner_id, lead.sla_breached_at, lead.sla_reminded_at) == (team["Ana"].id, DUE, DUE)
    [alert] = sends("admin_alert")
    assert (alert.staff_user_id, alert.step) == (team["Root"].id, 2)  # the "overdue" case
    reasons = db.session.scalars(select(RoutingDecision.reason).order_by(RoutingDecision.id))
    assert list(reasons)[-1] == (
        "first contact overdue; nobody else is working now, so the owner keeps the lead"
    )


def test_without_a_team_lead_the_escalation_goes_to_the_admins(app):
    with app.app_context():
        admins = [member("Root", role="admin"), member("Boss", role="admin")]
        make_rule("Everyone", make_team("All", [member("Ana"), member("Ben")]))
        route(new_lead())
        sweep(DUE)
        assert [alert.staff_user_id for alert in sends("sla_escalation")] == [
            admin.id for admin in admins
        ]


def test_first_contact_stops_the_reminder_and_the_escalation(team):
    lead = new_lead()
    route(lead)
    lead.first_contacted_at = NOW + timedelta(minutes=20)
    db.session.commit()

    assert sweep(REMIND) == NOTHING
    assert sweep(DUE + timedelta(hours=3)) == NOTHING
    assert sends("sla_reminder") == sends("sla_escalation") == []


def test_closed_and_unassigned_leads_have_no_sla_to_sweep(team):
    closed = new_lead()
    route(closed)
    closed.status = "not_interested"
    new_lead()  # never routed
    db.session.commit()
    assert sweep(DUE + timedelta(days=1)) == NOTHING


def test_two_sweeps_at_once_remind_and_escalate_each_lead_exactly_once(app, team):
    with app.app_context():
        breaching = [new_lead() for _ in range(15)]
        for lead in breaching:
            route(lead, now=NOW - timedelta(hours=1))  # due at 12:00 New York time
        breached_owner = {lead.id: lead.owner_id for lead in breaching}
        reminding = {new_lead().id for _ in range(15)}
        for lead_id in reminding:
            route(db.session.get(Lead, lead_id))
    results, errors = at_once(app, lambda: sweep_sla(now=REMIND))

    assert errors == []
    assert sum(counts["escalated"] for counts in results) == 15
    assert sum(counts["reassigned"] for counts in results) == 15
    assert sum(counts["reminded"] for counts in results) == 15
    with app.app_context():
        assert len(sends("sla_escalation")) == 15
        assert {send.lead_id for send in sends("sla_reminder")} == reminding
        for lead_id, old_owner in breached_owner.items():
            assert db.session.get(Lead, lead_id).owner_id not in (None, old_owner)
        assert sweep(REMIND) == NOTHING
