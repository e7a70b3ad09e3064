"""An id beyond what its column holds (PostgreSQL INTEGER is 32-bit), in a path, a form or a
query string, is "not found" or the form's own refusal: never a server error, on either backend."""

from __future__ import annotations

import re

import pytest
from flask import url_for

from intake.ids import MAX_ID, parse_id
from tests.staff import access_matrix as matrix

# One past PostgreSQL's INTEGER, one past BIGINT (and SQLite's INTEGER), and far beyond both.
HUGE = (2**31, 2**63, 10**30)


@pytest.fixture
def app(app_factory):
    """CSRF checks off, so each request reaches its route (as in the access matrix's tests)."""
    return app_factory(WTF_CSRF_ENABLED=False)


def id_routes(app) -> list:
    """Every rule with an ``<int:…>`` argument, and the names of those arguments."""
    found = []
    for rule in app.url_map.iter_rules():
        names = re.findall(r"<int:(\w+)>", rule.rule)
        if names:
            found.append((rule, names))
    return found


def test_the_url_map_has_the_id_routes_this_file_walks(app):
    endpoints = {rule.endpoint for rule, _names in id_routes(app)}
    walked = {"staff.lead", "staff.lead_merge", "staff.admin_staff_edit", "staff.admin_team",
              "staff.admin_rule", "staff.admin_outbox_message", "staff.admin_erase"}  # fmt: skip
    assert walked <= endpoints


def test_every_route_answers_404_to_an_id_beyond_its_column_for_everyone(app, world, sign_in):
    ids, args = world
    clients = {"anonymous": app.test_client()}
    clients.update({role: sign_in(app.test_client(), ids[role]) for role in matrix.ROLES})
    answers = {}
    with app.test_request_context():
        urls = [
            (method, url_for(rule.endpoint, **{a: args[a] for a in rule.arguments} | {name: huge}))
            for rule, names in id_routes(app)
            for name in names
            for huge in HUGE
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        ]
    for method, url in urls:
        for who, client in clients.items():
            answers[f"{who} {method} {url}"] = matrix.send(client, method, url).status_code
    assert {key: code for key, code in answers.items() if code != 404} == {}


@pytest.mark.parametrize("huge", HUGE)
def test_ids_in_query_strings_and_forms_beyond_the_column_never_fail(app, world, sign_in, huge):
    ids, args = world
    admin = sign_in(app.test_client(), ids["admin"])
    coordinator = sign_in(app.test_client(), ids["coordinator"])
    lead = f"/staff/leads/{args['lead_id']}"
    gets = [
        f"/staff/admin/audit?before={huge}",
        f"/staff/admin/audit?lead={huge}&actor={huge}",
        f"/staff/admin/audit/export.csv?lead={huge}&actor={huge}",
        f"/staff/admin/mail/outbox?before={huge}",
        f"/staff/?owner={huge}&team={huge}&view=all",
        f"/staff/dashboard?days={huge}",
    ]
    for url in gets:
        response = admin.get(url)
        response.close()  # the export is streamed
        assert response.status_code == 200, url
    posts = [
        (coordinator, "/staff/leads/bulk", {"lead_id": huge, "action": "assign", "owner": huge}),
        (coordinator, "/staff/leads/bulk",
         {"lead_id": huge, "action": "status", "status": "contacted"}),
        (coordinator, f"{lead}/merge", {"duplicate_id": huge}),
        (coordinator, f"{lead}/owner", {"owner": huge}),
        (admin, f"/staff/admin/teams/{args['team_id']}",
         {"name": "Team A", "strategy": "round_robin", "lead_staff_id": huge, "member_ids": huge}),
        (admin, f"/staff/admin/rules/{args['rule_id']}",
         {"name": "Matrix rule", "priority": 5, "team_id": huge}),
        (admin, "/staff/admin/staff/invite",
         {"email": "new@clinic.example", "name": "New", "role": "coordinator", "team": huge}),
        (admin, f"/staff/admin/staff/{args['user_id']}", {"teams": huge, "role": "coordinator"}),
    ]  # fmt: skip
    for client, url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code < 500, (url, data, response.status_code)
    assert coordinator.get(lead).status_code == 200  # nothing was merged away


def test_parse_id_takes_ascii_digits_naming_a_row_and_nothing_else():
    assert parse_id("1") == 1
    assert parse_id(str(MAX_ID)) == MAX_ID
    for raw in (str(MAX_ID + 1), str(2**63), "0", "", "-1", "1.0", " 1", "١٢", "²", "9" * 5000):
        assert parse_id(raw) is None, raw
