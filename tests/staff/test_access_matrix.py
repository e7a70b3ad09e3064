"""S-access: every route in the URL map, for anonymous visitors, each role, and staff of another
team, against the matrix declared in tests/staff/access_matrix.py, apart from the code it checks.
A route missing from the matrix fails the test, so a new route cannot ship without a decision
about who may use it."""

from __future__ import annotations

import pytest

from intake.extensions import db
from intake.models import Lead
from tests.factories import audit_count, make_lead
from tests.staff.access_matrix import ANYONE, LET_IN, MATRIX, ROLES, requests_for, send, to_sign_in


@pytest.fixture
def app(app_factory):
    """CSRF checks off, so each request reaches the access guard (S-csrf is tested apart)."""
    return app_factory(WTF_CSRF_ENABLED=False)


def test_every_route_in_the_url_map_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - MATRIX.keys() == set(), "routes with no access decision"
    assert MATRIX.keys() - endpoints == set(), "the matrix names routes that no longer exist"


def test_the_matrix_holds_for_anonymous_visitors_and_every_role(app, world, sign_in):
    ids, args = world
    failures = []
    for endpoint, method, url in requests_for(app, args):
        rule = MATRIX[endpoint]
        anonymous = send(app.test_client(), method, url)
        if rule.roles is ANYONE:
            if anonymous.status_code >= 500 or anonymous.status_code == 403:
                failures.append(f"anonymous {method} {url}: {anonymous.status_code}")
            continue
        if not to_sign_in(anonymous):
            failures.append(f"anonymous {method} {url}: {anonymous.status_code}, not sign-in")
        for role in ROLES:
            response = send(sign_in(app.test_client(), ids[role]), method, url)
            allowed = role in rule.roles
            ok = response.status_code in LET_IN and not to_sign_in(response)
            if (allowed and not ok) or (not allowed and response.status_code != 403):
                want = "let in" if allowed else "403"
                where = response.headers.get("Location", "")
                failures.append(
                    f"{role} {method} {url}: {response.status_code} {where}, want {want}"
                )
    assert failures == []


def test_staff_of_another_team_get_404_for_every_lead_route_and_each_refusal_is_audited(
    app, world, sign_in
):
    ids, args = world
    lead_routes = [r for r in requests_for(app, args) if MATRIX[r[0]].lead]
    before = audit_count(app, action="access.denied")
    statuses = {}
    for _endpoint, method, url in lead_routes:
        client = sign_in(app.test_client(), ids["other_team"])
        statuses[f"{method} {url}"] = send(client, method, url).status_code
    wanted = {
        key: 403 if "coordinator" not in MATRIX[endpoint].roles else 404
        for (endpoint, method, url), key in zip(lead_routes, statuses, strict=True)
    }
    assert statuses == wanted
    assert audit_count(app, action="access.denied") - before == len(lead_routes)
    with app.app_context():  # and nothing was changed on the lead
        lead = db.session.get(Lead, args["lead_id"])
        assert lead.status == "new" and lead.erasure_requested_at is None


def test_every_staff_page_shown_to_a_signed_in_person_writes_exactly_one_audit_row(
    app, world, sign_in
):
    ids, args = world
    counts = {}
    for endpoint, method, url in requests_for(app, args):
        if method != "GET" or not endpoint.startswith("staff.") or MATRIX[endpoint].roles is ANYONE:
            continue
        client = sign_in(
            app.test_client(), ids["admin" if "admin" in MATRIX[endpoint].roles else "clinician"]
        )
        before = audit_count(app)
        response = send(client, method, url)
        counts[url] = (response.status_code, audit_count(app) - before)
    assert {url: added for url, (_status, added) in counts.items()} == dict.fromkeys(counts, 1)
    assert all(status == 200 for status, _added in counts.values()), counts


def test_guessed_lead_ids_are_404_even_for_admins(app, world, sign_in):
    ids, args = world
    guessed = {**args, "lead_id": args["lead_id"] + 1000}
    guessed.update(pair_id=args["pair_id"] + 1000, merge_id=args["merge_id"] + 1000)
    guessed.update(task_id=args["task_id"] + 1000)
    for endpoint, method, url in requests_for(app, guessed):
        if MATRIX[endpoint].lead and "admin" in MATRIX[endpoint].roles:
            response = send(sign_in(app.test_client(), ids["admin"]), method, url)
            assert response.status_code == 404, f"{method} {url}"


def test_a_staff_form_sent_without_a_valid_token_changes_nothing_and_says_why(
    app_factory, make_staff, sign_in
):
    app = app_factory()  # CSRF checks on, as in production
    coordinator = make_staff("coordinator", team="Team A")
    with app.app_context():
        lead_id = make_lead(owner_id=coordinator).id
        db.session.commit()
    client = sign_in(app.test_client(), coordinator)
    page_url = f"/staff/leads/{lead_id}"
    response = client.post(
        f"{page_url}/notes",
        data={"text": "Called back", "csrf_token": "forged"},
        headers={"Referer": f"http://localhost{page_url}"},
    )
    assert response.status_code == 303 and response.headers["Location"] == page_url
    assert "open too long" in client.get(page_url).get_data(as_text=True)
    assert audit_count(app, action="lead.note_added") == 0
