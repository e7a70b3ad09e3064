"""Routing: rules in priority order, a member chosen by strategy and availability, a reason kept."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import (
    Lead,
    RoutingDecision,
    RoutingRule,
    StaffToken,
    StaffUser,
    Team,
    TeamMember,
)
from intake.routing.choice import choose_member, match_rule
from intake.routing.service import (
    LeadNotFound,
    ensure_default_routing,
    reroute_if_better,
    route_lead,
)
from tests.conftest import make_app
from tests.factories import add, make_rule, make_team
from tests.routing.conftest import NOW, count, member, new_lead, route, sends

LATER = NOW + timedelta(minutes=5)


def rule(rule_id: int, priority: int, **where) -> RoutingRule:
    return RoutingRule(
        id=rule_id, name=f"r{rule_id}", priority=priority, conditions=where, active=True
    )


def test_match_rule_takes_the_lowest_priority_then_the_lowest_id_of_the_active_rules():
    rules = [rule(3, 50), rule(2, 10, country=["US"]), rule(1, 10, region=["fl"]), rule(0, 1)]
    rules[-1].active = False
    assert match_rule(rules, Lead(country="US", region="FL")).id == 1


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({}, True),
        ({"country": ["us"], "region": ["Florida", "FL"]}, True),
        ({"country": ["US"], "region": ["GA"]}, False),
        ({"eligibility_outcome": ["needs_review"]}, True),
        ({"ms_type": ["PPMS", "SPMS"]}, False),
        ({"ms_type": []}, True),  # an empty list sets no condition
        ({"utm_campaign": "Spring-Article"}, True),  # a bare string counts as a list
        ({"source": ["facebook"]}, False),  # the lead has no source
        ({"colour": ["blue"]}, False),  # an unknown field never matches
    ],
)
def test_conditions_must_all_hold_case_insensitively(conditions, matches):
    lead = Lead(
        country="US",
        region="fl",
        eligibility_outcome="needs_review",
        ms_type="RRMS",
        utm_campaign="spring-article",
    )
    assert (match_rule([rule(1, 1, **conditions)], lead) is not None) is matches


def staff(staff_id: int, **fields) -> StaffUser:
    return StaffUser(id=staff_id, **{"active": True, "time_zone": "America/New_York", **fields})


def pick(team: Team, members, counts=None, exclude=()) -> int | None:
    member = choose_member(
        team=team, members=members, lead_counts=counts or {}, now=NOW, exclude=exclude
    )
    return member.id if member else None


def test_round_robin_takes_the_next_available_member_after_the_cursor_and_wraps():
    members = [staff(4), staff(2), staff(7, active=False), staff(9)]
    team = Team(strategy="round_robin", last_assigned_id=4)
    picks = []
    for _ in range(4):
        team.last_assigned_id = pick(team, members)
        picks.append(team.last_assigned_id)
    assert picks == [9, 2, 4, 9]


def test_least_loaded_takes_the_fewest_open_leads_then_the_lowest_id():
    members = [staff(1), staff(2), staff(3)]
    team = Team(strategy="least_loaded")
    counts = {1: 4, 2: 1, 3: 1}
    assert (pick(team, members, counts), pick(team, members, counts, exclude={2})) == (2, 3)


@pytest.fixture
def rules(ctx):
    """Clinical (5) for needs review, US-Southeast (10) by region, Everyone (1000) as fallback."""
    people = {name: member(name) for name in ("Ana", "Ben", "Cy", "Dee", "Eve")}
    clinical = make_team("Clinical", [people["Eve"]])
    southeast = make_team("Southeast", [people["Ana"], people["Ben"]])
    everyone = make_team("Coordinators", [people["Cy"], people["Dee"]], strategy="least_loaded")
    make_rule("Clinical", clinical, priority=5, eligibility_outcome=["needs_review"])
    make_rule("US-Southeast", southeast, priority=10, country=["US"], region=["FL", "Florida"])
    make_rule("Everyone", everyone, priority=1000)
    db.session.commit()
    return people


def test_rules_are_tried_in_priority_order_and_the_reason_is_stored(rules):
    florida = route(new_lead(region="florida"))
    review = route(new_lead(region="FL", eligibility_outcome="needs_review"))
    ohio = route(new_lead(region="Ohio"))

    assert florida.staff_user_id == rules["Ana"].id
    assert florida.reason == "rule 'US-Southeast', round robin"
    assert review.staff_user_id == rules["Eve"].id
    assert review.reason == "rule 'Clinical', round robin"
    assert ohio.staff_user_id == rules["Cy"].id
    assert ohio.reason == "rule 'Everyone', least loaded (0 open leads)"
    stored = db.session.scalars(select(RoutingDecision.reason).order_by(RoutingDecision.id))
    assert list(stored) == [florida.reason, review.reason, ohio.reason]


def test_an_assignment_sets_the_owner_and_sla_and_notifies_the_owner_once(rules):
    lead = new_lead(region="FL")
    decision = route(lead)

    db.session.refresh(lead)
    team = db.session.get(Team, lead.team_id)
    assert (lead.owner_id, team.name, lead.assigned_at) == (rules["Ana"].id, "Southeast", NOW)
    assert lead.sla_due_at == NOW + timedelta(hours=2)  # 13:00 in New York
    assert team.last_assigned_id == rules["Ana"].id
    [notice] = sends("staff_new_lead")
    assert notice.key == f"{lead.id}:staff_new_lead:{decision.id}"
    assert (notice.staff_user_id, notice.lead_id, notice.due_at) == (rules["Ana"].id, lead.id, NOW)


def test_round_robin_cycles_through_the_team(ctx):
    people = [member(name) for name in ("A", "B", "C")]
    make_rule("Everyone", make_team("All", people), priority=1000)
    owners = [route(new_lead()).staff_user_id for _ in range(7)]
    ids = [person.id for person in people]
    assert owners == ids + ids + ids[:1]


def test_least_loaded_counts_open_leads_only(ctx):
    busy, light, closed_heavy = (member(name) for name in ("Busy", "Light", "Closer"))
    make_rule("Everyone", make_team("All", [busy, light, closed_heavy], strategy="least_loaded"))
    for owner, status in [(busy, "new"), (busy, "contacted"), (light, "new")]:
        new_lead(owner_id=owner.id, status=status)
    for _ in range(3):
        new_lead(owner_id=closed_heavy.id, status="not_interested")
    new_lead(owner_id=light.id, status="merged")
    db.session.commit()

    decisions = [route(new_lead()) for _ in range(2)]
    assert [decision.staff_user_id for decision in decisions] == [closed_heavy.id, light.id]
    loads = ("0 open leads", "1 open lead")
    assert [d.reason for d in decisions] == [f"rule 'Everyone', least loaded ({n})" for n in loads]


def test_unavailable_staff_are_never_chosen(ctx):
    unavailable = [
        member("Inactive", active=False),
        member("Away", out_of_office_until=NOW + timedelta(days=2)),
        member("Tokyo", time_zone="Asia/Tokyo"),
        member("Full", capacity=1),
    ]
    back = member("Back", out_of_office_until=NOW - timedelta(hours=1))
    new_lead(owner_id=unavailable[-1].id)
    make_rule("Everyone", make_team("All", [*unavailable, back]))
    db.session.commit()

    owners = {route(new_lead()).staff_user_id for _ in range(6)}
    assert owners == {back.id}


def test_someone_invited_gets_leads_only_once_they_have_signed_in(ctx):
    invited, colleague = member("Invited"), member("Colleague")
    add(StaffToken(token_hash="0" * 64, user_id=invited.id, purpose="invitation",
                   created_at=NOW, expires_at=NOW + timedelta(days=7)))  # fmt: skip
    make_rule("Everyone", make_team("All", [invited, colleague]))
    db.session.commit()
    assert {route(new_lead()).staff_user_id for _ in range(3)} == {colleague.id}

    invited.last_sign_in_at = NOW
    db.session.commit()
    assert invited.id in {route(new_lead()).staff_user_id for _ in range(3)}


def test_no_match_leaves_the_lead_unassigned_with_a_deadline_and_alerts_each_active_admin(ctx):
    admins = [member("Root", role="admin"), member("Boss", role="admin")]
    member("Gone", role="admin", active=False)
    make_rule("Canada", make_team("CA", [member("Cat")]), country=["CA"])
    lead = new_lead(country="US")

    decision = route(lead)

    db.session.refresh(lead)
    assert (lead.owner_id, lead.team_id) == (None, None)
    assert lead.sla_due_at == NOW + timedelta(hours=2)  # never "no deadline"
    assert (decision.reason, decision.staff_user_id) == ("no rule matched", None)
    assert db.session.get(RoutingDecision, decision.id).reason == "no rule matched"
    alerts = sends("admin_alert")
    assert [alert.staff_user_id for alert in alerts] == [admin.id for admin in admins]
    assert {(alert.key, alert.step) for alert in alerts} == {
        (f"{lead.id}:admin_alert:no_rule:{NOW.date().isoformat()}:{admin.id}", 0)
        for admin in admins
    }
    assert sends("staff_new_lead") == []

    route(lead)  # routing tried again the same day (say, when the inquiry completes)
    assert len(sends("admin_alert")) == len(admins)


def test_a_team_with_nobody_available_falls_through_to_the_next_matching_rule(ctx):
    away = member("Away", out_of_office_until=NOW + timedelta(days=1))
    fallback = member("Fallback")
    make_rule("US-Southeast", make_team("Southeast", [away]), priority=10, region=["FL"])
    make_rule("Everyone", make_team("All", [fallback]), priority=1000)

    decision = route(new_lead(region="FL"))

    assert decision.staff_user_id == fallback.id
    expected = "rule 'Everyone', round robin; nobody available under rule 'US-Southeast'"
    assert decision.reason == expected


def test_a_team_with_nobody_who_can_take_leads_still_gets_the_lead_and_admins_are_told(ctx):
    admin = member("Root", role="admin")
    team = make_team("All", [member("Off", active=False)])
    make_rule("Everyone", team, priority=1000)
    lead = new_lead()

    decision = route(lead)

    assert decision.reason == "rule 'Everyone', held for team 'All': no member can take leads"
    lead = db.session.get(Lead, lead.id)
    due = NOW + timedelta(hours=2)
    assert (lead.team_id, lead.owner_id, lead.sla_due_at) == (team.id, None, due)
    [alert] = sends("admin_alert")
    assert (alert.staff_user_id, alert.step) == (admin.id, 1)  # the "no member" case


def test_routing_an_owned_lead_again_changes_and_records_nothing(rules):
    lead = new_lead(region="FL")
    first = route(lead)
    again = route(lead, now=LATER)

    assert again.id is None
    assert again.reason == "already assigned; nothing changed"
    assert again.staff_user_id == first.staff_user_id
    assert db.session.get(Lead, lead.id).assigned_at == NOW
    assert (count(RoutingDecision), len(sends("staff_new_lead"))) == (1, 1)


def test_excluding_the_owner_reassigns_within_the_rules(rules):
    lead = new_lead(region="FL")
    route(lead)
    decision = route(lead, now=LATER, exclude_staff_ids=(rules["Ana"].id,))

    lead = db.session.get(Lead, lead.id)
    assert (lead.owner_id, lead.assigned_at) == (rules["Ben"].id, LATER)
    assert decision.reason == "rule 'US-Southeast', round robin"


def test_closed_and_missing_leads_are_not_routed(rules):
    closed = new_lead(status="do_not_contact")
    decision = route(closed)
    assert (decision.id, decision.staff_user_id, count(RoutingDecision)) == (None, None, 0)
    with pytest.raises(LeadNotFound):
        route_lead(lead_id=closed.id + 1000, now=NOW)


def test_ensure_default_routing_builds_one_team_of_active_coordinators(ctx):
    coordinators = [member("Co1"), member("Co2")]
    member("Co3", active=False)
    member("Root", role="admin")
    for _ in range(2):
        ensure_default_routing(now=NOW)
        db.session.commit()

    [team] = db.session.scalars(select(Team))
    [rule_row] = db.session.scalars(select(RoutingRule))
    members = sorted(db.session.scalars(select(TeamMember.staff_user_id)))
    assert (team.name, team.strategy) == ("Patient coordinators", "round_robin")
    assert (rule_row.name, rule_row.priority, rule_row.conditions) == ("Everyone", 1000, {})
    assert members == [person.id for person in coordinators]
    assert route(new_lead()).reason == "rule 'Everyone', round robin"


def test_ensure_default_routing_falls_back_to_admins_and_leaves_existing_teams_alone(ctx):
    admin = member("Root", role="admin")
    ensure_default_routing(now=NOW)
    db.session.commit()
    assert list(db.session.scalars(select(TeamMember.staff_user_id))) == [admin.id]

    db.session.execute(TeamMember.__table__.delete())
    db.session.execute(RoutingRule.__table__.delete())
    db.session.commit()
    ensure_default_routing(now=NOW)  # a team exists: an admin's deletions are respected
    assert (count(Team), count(RoutingRule)) == (1, 0)


def test_reroute_if_better_moves_a_lead_when_a_higher_priority_rule_now_matches(rules):
    lead = new_lead(region="Ohio")
    route(lead)
    assert reroute_if_better(lead_id=lead.id, now=LATER) is None  # nothing better matches

    lead.eligibility_outcome = "needs_review"
    db.session.commit()
    decision = reroute_if_better(lead_id=lead.id, now=LATER)
    db.session.commit()

    lead = db.session.get(Lead, lead.id)
    assert (lead.owner_id, lead.assigned_at) == (rules["Eve"].id, LATER)
    assert decision.reason == "rule 'Clinical', round robin"
    assert reroute_if_better(lead_id=lead.id, now=LATER) is None  # already the best rule
    assert len(sends("staff_new_lead")) == 2


def test_reroute_if_better_leaves_contacted_and_hand_assigned_leads_alone(rules):
    contacted = new_lead(region="Ohio")
    route(contacted)
    contacted.first_contacted_at = LATER
    by_hand = new_lead(owner_id=rules["Cy"].id)
    for lead in (contacted, by_hand):
        lead.eligibility_outcome = "needs_review"
    db.session.commit()

    assert reroute_if_better(lead_id=contacted.id, now=LATER) is None
    assert reroute_if_better(lead_id=by_hand.id, now=LATER) is None
    assert count(RoutingDecision) == 1


def _route_share(database_url: str, lead_ids: list[int], barrier) -> None:
    """In a spawned process: route these leads one transaction each."""
    app = make_app(database_url)
    with app.app_context():
        barrier.wait(timeout=60)
        for lead_id in lead_ids:
            route_lead(lead_id=lead_id, now=NOW)
            db.session.commit()
        db.engine.dispose()


def test_four_processes_routing_400_leads_give_each_available_member_exactly_100(ctx, database_url):
    available = [member(f"Avail{n}") for n in range(4)]
    inactive = member("Inactive", active=False)
    away = member("Away", out_of_office_until=NOW + timedelta(days=3))
    members = [available[0], inactive, available[1], away, available[2], available[3]]
    make_rule("Everyone", make_team("All", members), priority=1000)
    lead_ids = [new_lead().id for _ in range(400)]
    db.session.commit()

    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(4)
    workers = [
        spawn.Process(target=_route_share, args=(database_url, lead_ids[n::4], barrier))
        for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]

    owners = Counter(db.session.scalars(select(Lead.owner_id)))
    assert owners == {person.id: 100 for person in available}
    assert (owners[inactive.id], owners[away.id]) == (0, 0)
    assert count(RoutingDecision) == 400
    assert len(sends("staff_new_lead")) == 400


def test_leads_whose_routing_never_ran_are_routed_by_the_sweep_once(rules):
    lost = new_lead(region="FL")
    already = new_lead(region="FL")
    route(already)

    from intake.routing.sweeps import route_unrouted

    assert route_unrouted(now=NOW) == 1
    assert db.session.get(Lead, lost.id).owner_id is not None
    assert route_unrouted(now=LATER) == 0
