"""Ownership around the clock: a lead that arrives while nobody is working still gets its team,
an owner whose hours start next (or a hold by the team), and a deadline in business hours."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.messaging.mail import render_message
from intake.models import Lead, RoutingDecision, Send, StaffToken
from intake.routing.service import reroute_if_better
from intake.routing.sla import sweep_sla
from intake.routing.sweeps import assign_held_leads
from tests.factories import make_rule, make_team
from tests.routing.conftest import at_once, member, new_lead, route, sends

NEW_YORK = ZoneInfo("America/New_York")


def ny(*args) -> datetime:
    """A New York wall-clock time, as aware UTC."""
    return datetime(*args, tzinfo=NEW_YORK).astimezone(UTC)


FRIDAY_NIGHT = ny(2024, 5, 17, 21, 15)
MONDAY_9, MONDAY_11 = ny(2024, 5, 20, 9), ny(2024, 5, 20, 11)


@pytest.fixture
def people(ctx):
    """Ana and Ben (Mon–Fri 09:00–17:00 New York) in team All, rule Everyone; one admin."""
    staff = {name: member(name) for name in ("Ana", "Ben")}
    staff["Root"] = member("Root", role="admin")
    staff["team"] = make_team("All", [staff["Ana"], staff["Ben"]])
    make_rule("Everyone", staff["team"], priority=1000)
    db.session.commit()
    return staff


def test_a_lead_on_friday_night_gets_its_team_monday_s_owner_and_a_monday_deadline(people):
    lead = new_lead()
    decision = route(lead, now=FRIDAY_NIGHT)

    lead = db.session.get(Lead, lead.id)
    assert (lead.team_id, lead.owner_id) == (people["team"].id, people["Ana"].id)
    assert lead.sla_due_at == MONDAY_11  # 2 business hours from Monday's opening
    assert decision.reason == "rule 'Everyone', next on shift: Ana (Mon 09:00 EDT)"
    [notice] = sends("staff_new_lead")
    assert (notice.staff_user_id, notice.due_at) == (people["Ana"].id, MONDAY_9)
    assert sends("admin_alert") == []  # a night is normal, not an alarm


def test_a_weekend_s_leads_are_shared_round_robin_over_monday_s_shift(people):
    owners = [route(new_lead(), now=FRIDAY_NIGHT).staff_user_id for _ in range(4)]
    assert owners == [people[name].id for name in ("Ana", "Ben", "Ana", "Ben")]


def test_the_next_on_shift_respects_time_zones_days_absence_capacity_and_sign_in(ctx):
    sunday = {"days": [6], "start": "10:00", "end": "14:00"}
    away = member("Away", out_of_office_until=ny(2024, 5, 22, 0))
    full = member("Full", capacity=1)
    new_lead(owner_id=full.id)
    invited = member("Invited", time_zone="Europe/London")
    db.session.add(StaffToken(token_hash="1" * 64, user_id=invited.id, purpose="invitation",
                              created_at=FRIDAY_NIGHT, expires_at=MONDAY_11))  # fmt: skip
    london = member("London", time_zone="Europe/London")  # 09:00 London is 04:00 New York
    sunday_shift = member("Sunday", working_hours=sunday, time_zone="America/Chicago")
    make_rule("Everyone", make_team("All", [away, full, invited, london, sunday_shift]))
    db.session.commit()

    first = route(new_lead(), now=FRIDAY_NIGHT)
    assert first.staff_user_id == sunday_shift.id
    assert first.reason == "rule 'Everyone', next on shift: Sunday (Sun 11:00 EDT)"
    sunday_shift.active = False
    db.session.commit()
    second = route(new_lead(), now=FRIDAY_NIGHT)
    assert second.staff_user_id == london.id
    assert second.reason == "rule 'Everyone', next on shift: London (Mon 04:00 EDT)"


def test_a_team_that_holds_keeps_the_lead_ownerless_with_a_monday_deadline(people):
    people["team"].off_hours = "hold"
    db.session.commit()
    lead = new_lead()
    decision = route(lead, now=FRIDAY_NIGHT)

    lead = db.session.get(Lead, lead.id)
    assert (lead.team_id, lead.owner_id, lead.sla_due_at) == (people["team"].id, None, MONDAY_11)
    assert (
        decision.reason == "rule 'Everyone', held for team 'All' until hours start (Mon 09:00 EDT)"
    )
    assert sends("staff_new_lead") == sends("admin_alert") == []
    assert route(lead, now=FRIDAY_NIGHT + timedelta(hours=1)).id is None  # still held, unchanged


def test_held_leads_get_an_owner_when_hours_start_once_however_often_the_sweep_runs(people):
    people["team"].off_hours = "hold"
    db.session.commit()
    held = [new_lead() for _ in range(3)]
    for lead in held:
        route(lead, now=FRIDAY_NIGHT)

    assert assign_held_leads(now=MONDAY_9 - timedelta(minutes=1)) == 0
    assert assign_held_leads(now=MONDAY_9) == 3
    db.session.commit()
    assert assign_held_leads(now=MONDAY_9 + timedelta(minutes=1)) == 0

    leads = [db.session.get(Lead, lead.id) for lead in held]
    ana, ben = people["Ana"].id, people["Ben"].id
    assert [lead.owner_id for lead in leads] == [ana, ben, ana]
    assert {(lead.assigned_at, lead.sla_due_at) for lead in leads} == {(MONDAY_9, MONDAY_11)}
    reasons = db.session.scalars(
        select(RoutingDecision.reason).where(RoutingDecision.staff_user_id.is_not(None))
    )
    assert set(reasons) == {"rule 'Everyone', round robin, after being held for the team"}
    assert [notice.due_at for notice in sends("staff_new_lead")] == [MONDAY_9] * 3


def test_someone_working_now_in_a_fallback_team_takes_the_lead_before_anyone_next_week(ctx):
    night = member("Nat", working_hours={"days": list(range(7)), "start": "20:00", "end": "06:00"})
    make_rule("Southeast", make_team("SE", [member("Ana")]), priority=10, region=["FL"])
    make_rule("Everyone", make_team("Night", [night]), priority=1000)

    decision = route(new_lead(region="FL"), now=FRIDAY_NIGHT)

    assert decision.staff_user_id == night.id
    assert (
        decision.reason == "rule 'Everyone', round robin; nobody available under rule 'Southeast'"
    )


def test_a_better_rule_after_completion_moves_the_lead_to_that_team_s_next_on_shift(ctx):
    eve, cy = member("Eve"), member("Cy")
    clinical = make_team("Clinical", [eve])
    make_rule("Clinical", clinical, priority=5, eligibility_outcome=["needs_review"])
    make_rule("Everyone", make_team("All", [cy]), priority=1000)
    lead = new_lead()
    route(lead, now=FRIDAY_NIGHT)

    lead.eligibility_outcome = "needs_review"
    db.session.commit()
    decision = reroute_if_better(lead_id=lead.id, now=FRIDAY_NIGHT + timedelta(minutes=10))
    db.session.commit()

    lead = db.session.get(Lead, lead.id)
    assert (lead.team_id, lead.owner_id) == (clinical.id, eve.id)
    assert decision.reason == "rule 'Clinical', next on shift: Eve (Mon 09:00 EDT)"


def test_the_sla_of_a_night_lead_reminds_and_escalates_on_monday_not_over_the_weekend(people):
    lead = new_lead()
    route(lead, now=FRIDAY_NIGHT)
    nothing = {"escalated": 0, "reassigned": 0, "reminded": 0}

    assert sweep_sla(now=ny(2024, 5, 19, 23)) == nothing  # Sunday night
    assert sweep_sla(now=ny(2024, 5, 20, 10, 30)) == {**nothing, "reminded": 1}
    assert sweep_sla(now=MONDAY_11) == {**nothing, "escalated": 1, "reassigned": 1}
    db.session.commit()
    assert db.session.get(Lead, lead.id).owner_id == people["Ben"].id


def test_a_held_lead_past_its_deadline_is_escalated_and_given_to_someone_working(people):
    people["team"].off_hours = "hold"
    db.session.commit()
    lead = new_lead()
    route(lead, now=FRIDAY_NIGHT)

    counts = sweep_sla(now=MONDAY_11)  # the held sweep never ran (beat was down, say)
    db.session.commit()

    assert counts == {"escalated": 1, "reassigned": 1, "reminded": 0}
    assert db.session.get(Lead, lead.id).owner_id == people["Ana"].id
    assert [send.staff_user_id for send in sends("sla_escalation")] == [people["Root"].id]


def alert_text(send: Send) -> tuple[str, str]:
    message = render_message(send=send, now=FRIDAY_NIGHT)
    return message.subject, " ".join(message.text.split())


def test_each_admin_alert_says_truthfully_which_case_it_is(ctx):
    member("Root", role="admin")
    make_rule("Canada", make_team("CA", [member("Cat")]), country=["CA"])
    make_rule("Florida", make_team("Sunshine", [member("Off", active=False)]), region=["FL"])
    route(new_lead(country="US", region="Ohio"), now=FRIDAY_NIGHT)
    route(new_lead(country="US", region="FL"), now=FRIDAY_NIGHT)

    no_rule, no_member = (alert_text(send) for send in sends("admin_alert"))
    assert no_rule[0] == "A new lead matched no routing rule"
    assert "matched no routing rule, so it has no team and no owner" in no_rule[1]
    assert "First contact is due by Mon 20 May 2024, 11:00 EDT (your time)" in no_rule[1]
    assert no_member[0] == "A team has a new lead but nobody who can take it"
    assert 'went to the team "Sunshine", but no member of that team can take leads' in no_member[1]
    assert "matched no routing rule" not in no_member[1]


def test_the_overdue_alert_says_the_owner_keeps_the_lead(people):
    people["Ben"].active = False
    route(new_lead(), now=FRIDAY_NIGHT)
    sweep_sla(now=MONDAY_11)
    db.session.commit()

    [alert] = sends("admin_alert")
    subject, text = alert_text(alert)
    assert subject == "An overdue lead has nobody else to take it"
    assert "nobody else is working now to take it over, so it stays with its owner" in text


def test_at_every_hour_of_a_week_a_matched_lead_gets_its_team_an_owner_and_a_deadline(people):
    monday = ny(2024, 5, 20, 0, 30)
    for hour in range(7 * 24):
        at = monday + timedelta(hours=hour)
        lead = new_lead()
        decision = route(lead, now=at)
        lead = db.session.get(Lead, lead.id)
        assert lead.team_id == people["team"].id, (at, decision.reason)
        assert lead.owner_id in (people["Ana"].id, people["Ben"].id), (at, decision.reason)
        assert lead.sla_due_at is not None and lead.sla_due_at > at


def test_two_held_lead_sweeps_at_once_give_each_lead_out_exactly_once(app, people):
    people["team"].off_hours = "hold"
    db.session.commit()
    for _ in range(12):
        route(new_lead(), now=FRIDAY_NIGHT)
    db.session.close()  # the sweeps below run in their own sessions
    results, errors = at_once(app, lambda: assign_held_leads(now=MONDAY_9))

    assert errors == [] and sum(results) == 12
    owners = db.session.scalars(select(Lead.owner_id))
    assert sorted(Counter(owners).values()) == [6, 6]
    assert len(sends("staff_new_lead")) == 12
    given = select(RoutingDecision.id).where(RoutingDecision.staff_user_id.is_not(None))
    assert len(db.session.scalars(given).all()) == 12
