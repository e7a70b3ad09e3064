"""Teams and routing rules: admins create and edit them, mistakes are shown beside the field,
and each save is audited once."""

from __future__ import annotations

from sqlalchemy import select

from intake.extensions import db
from intake.models import RoutingRule, Team, TeamMember
from tests.factories import audit_count, last_audit
from tests.staff.conftest import csrf_token, page


def make_team(app, name="Southeast", **fields) -> int:
    with app.app_context():
        team = Team(name=name, **fields)
        db.session.add(team)
        db.session.commit()
        return team.id


def test_an_admin_creates_a_team_with_a_lead_and_members(app, staff_client, make_staff):
    client = staff_client("admin")
    alice, bob = make_staff("coordinator"), make_staff("coordinator")
    token = csrf_token(client)
    before = audit_count(app)
    response = client.post(
        "/staff/admin/teams/new",
        data={
            "csrf_token": token,
            "name": "Southeast",
            "strategy": "least_loaded",
            "lead_staff_id": str(alice),
            "member_ids": [str(alice), str(bob)],
        },
    )
    assert response.status_code == 302
    assert audit_count(app) == before + 1
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.name == "Southeast"))
        assert (team.strategy, team.lead_staff_id) == ("least_loaded", alice)
        members = db.session.scalars(
            select(TeamMember.staff_user_id).where(TeamMember.team_id == team.id)
        )
        assert sorted(members) == sorted([alice, bob])
    row = last_audit(app)
    assert (row.action, row.outcome, row.detail) == (
        "routing.team_saved",
        "ok",
        {"id": team.id, "created": True},
    )


def test_editing_a_team_replaces_its_members(app, staff_client, make_staff):
    client = staff_client("admin")
    alice, bob = make_staff("coordinator"), make_staff("coordinator")
    team_id = make_team(app)
    with app.app_context():
        db.session.add(TeamMember(team_id=team_id, staff_user_id=alice))
        db.session.commit()
    form = page(client.get(f"/staff/admin/teams/{team_id}"))
    assert form.find("input", {"name": "member_ids", "value": str(alice)}).has_attr("checked")
    response = client.post(
        f"/staff/admin/teams/{team_id}",
        data={
            "csrf_token": csrf_token(client),
            "name": "Southeast",
            "strategy": "round_robin",
            "lead_staff_id": "0",
            "member_ids": [str(bob)],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        members = db.session.scalars(
            select(TeamMember.staff_user_id).where(TeamMember.team_id == team_id)
        )
        assert list(members) == [bob]
        assert db.session.get(Team, team_id).lead_staff_id is None


def test_a_duplicate_team_name_is_shown_beside_the_field_and_keeps_what_was_typed(
    app, staff_client
):
    client = staff_client("admin")
    make_team(app, "Northeast")
    token = csrf_token(client)
    before = audit_count(app)
    response = client.post(
        "/staff/admin/teams/new",
        data={
            "csrf_token": token,
            "name": "Northeast",
            "strategy": "round_robin",
            "lead_staff_id": "0",
        },
    )
    assert response.status_code == 200
    html = page(response)
    name = html.find("input", {"name": "name"})
    assert name["value"] == "Northeast" and name["aria-invalid"] == "true"
    assert "Another team already has this name" in html.find(id=name["aria-describedby"]).get_text()
    assert audit_count(app) == before + 1
    assert (last_audit(app).action, last_audit(app).outcome) == ("routing.team_saved", "failed")
    with app.app_context():
        assert db.session.scalar(select(Team.id).where(Team.name == "Northeast").offset(1)) is None


def test_an_admin_creates_and_edits_a_routing_rule_with_conditions(app, staff_client):
    client = staff_client("admin")
    team_id = make_team(app)
    data = {
        "csrf_token": csrf_token(client),
        "name": "US Southeast",
        "priority": "10",
        "team_id": str(team_id),
        "cond_country": "US",
        "cond_region": "Florida, Georgia",
        "cond_eligibility_outcome": "",
        "cond_ms_type": "RRMS, SPMS",
        "cond_utm_campaign": "",
        "cond_source": "",
        "active": "y",
    }
    before = audit_count(app)
    assert client.post("/staff/admin/rules/new", data=data).status_code == 302
    assert audit_count(app) == before + 1
    with app.app_context():
        rule = db.session.scalar(select(RoutingRule))
        assert (rule.priority, rule.team_id, rule.active) == (10, team_id, True)
        assert rule.conditions == {
            "country": ["US"],
            "region": ["Florida", "Georgia"],
            "ms_type": ["RRMS", "SPMS"],
        }
    assert last_audit(app).action == "routing.rule_saved"
    edit = page(client.get(f"/staff/admin/rules/{rule.id}"))
    assert edit.find("input", {"name": "cond_region"})["value"] == "Florida, Georgia"
    data.update(priority="0", cond_region="", active="")
    del data["active"]
    assert client.post(f"/staff/admin/rules/{rule.id}", data=data).status_code == 302
    with app.app_context():
        rule = db.session.get(RoutingRule, rule.id)
        assert (rule.priority, rule.active) == (0, False)
        assert "region" not in rule.conditions
    listing = page(client.get("/staff/admin/rules"))
    assert "US Southeast" in listing.find("table").get_text()


def test_rule_conditions_with_unknown_values_are_refused_beside_the_field(app, staff_client):
    client = staff_client("admin")
    team_id = make_team(app)
    response = client.post(
        "/staff/admin/rules/new",
        data={
            "csrf_token": csrf_token(client),
            "name": "Odd",
            "priority": "x",
            "team_id": str(team_id),
            "cond_country": "USA",
            "cond_eligibility_outcome": "eligible",
            "cond_ms_type": "XYZ",
        },
    )
    assert response.status_code == 200
    html = page(response)
    for field in ("priority", "cond_country", "cond_eligibility_outcome", "cond_ms_type"):
        control = html.find("input", {"name": field})
        assert control["aria-invalid"] == "true", field
        assert html.find(id=f"{field}-error") is not None
    assert html.find("input", {"name": "cond_country"})["value"] == "USA"
    with app.app_context():
        assert db.session.scalar(select(RoutingRule.id)) is None
    assert last_audit(app).outcome == "failed"


def test_the_teams_page_lists_teams_with_their_members(app, staff_client, make_staff):
    client = staff_client("admin")
    make_staff("coordinator", team="Southeast", name="Casey Coordinator")
    before = audit_count(app)
    html = page(client.get("/staff/admin/teams"))
    assert audit_count(app, action="admin.viewed") >= 1 and audit_count(app) == before + 1
    row = html.find("a", string="Southeast").find_parent("tr")
    assert "Casey Coordinator" in row.get_text()


def test_an_admin_sets_what_a_team_does_with_leads_outside_its_members_hours(app, staff_client):
    client = staff_client("admin")
    new = page(client.get("/staff/admin/teams/new"))
    chosen = new.find("select", {"name": "off_hours"}).find("option", selected=True)
    assert chosen["value"] == "next_on_shift"  # the default: the member whose hours start next
    team_id = make_team(app)
    response = client.post(
        f"/staff/admin/teams/{team_id}",
        data={
            "csrf_token": csrf_token(client),
            "name": "Southeast",
            "strategy": "round_robin",
            "off_hours": "hold",
            "lead_staff_id": "0",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Team, team_id).off_hours == "hold"
    row = page(client.get("/staff/admin/teams")).find("a", string="Southeast").find_parent("tr")
    assert "Hold it for the team" in row.get_text()
    refused = client.post(
        f"/staff/admin/teams/{team_id}",
        data={"csrf_token": csrf_token(client), "name": "Southeast", "strategy": "round_robin",
              "off_hours": "never", "lead_staff_id": "0"},
    )  # fmt: skip
    assert page(refused).find("select", {"name": "off_hours"})["aria-invalid"] == "true"
