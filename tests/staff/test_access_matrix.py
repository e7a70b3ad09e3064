"""S-access: every route in the URL map, for anonymous visitors, each role, and staff of another
team, against a matrix declared here, apart from the code it checks. A route missing from the
matrix fails the test, so a new route cannot ship without a decision about who may use it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from intake.extensions import db
from intake.models import CapturedEmail, DuplicatePair, Lead, LeadMerge, RoutingRule, Send, Team
from intake.models.types import utcnow
from tests.factories import make_lead
from tests.staff.conftest import audit_count

ROLES = ("admin", "coordinator", "clinician")
STAFF = frozenset(ROLES)
ADMIN = frozenset({"admin"})
WORKERS = frozenset({"admin", "coordinator"})
CLINICIANS = frozenset({"clinician"})
ANYONE = None  # public: no sign-in needed


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str] | None
    lead: bool = False  # the route acts on one lead, so team scope applies


MATRIX: dict[str, Rule] = {
    # Public and probes.
    "static": Rule(ANYONE),
    "api.healthz": Rule(ANYONE),
    "api.readyz": Rule(ANYONE),
    "public.home": Rule(ANYONE),
    "public.favicon": Rule(ANYONE),
    "public.contact": Rule(ANYONE),
    "public.contact_post": Rule(ANYONE),
    "public.step": Rule(ANYONE),
    "public.sent": Rule(ANYONE),
    "public.resume": Rule(ANYONE),
    "public.unsubscribe": Rule(ANYONE),
    "public.unsubscribe_post": Rule(ANYONE),
    "public.privacy": Rule(ANYONE),
    "public.terms": Rule(ANYONE),
    "public.forget_draft": Rule(ANYONE),
    # Signing in, before there is a session.
    "staff.login": Rule(ANYONE),
    "staff.login_code": Rule(ANYONE),
    "staff.login_enrol": Rule(ANYONE),
    "staff.login_finish": Rule(ANYONE),
    "staff.logout": Rule(ANYONE),
    "staff.reset_request": Rule(ANYONE),
    "staff.reset_password": Rule(ANYONE),
    "staff.accept_invitation": Rule(ANYONE),
    # Their own account.
    "staff.account": Rule(STAFF),
    "staff.account_recovery_codes": Rule(STAFF),
    "staff.account_sessions": Rule(STAFF),
    "staff.change_password": Rule(STAFF),
    # Leads.
    "staff.queue": Rule(STAFF),
    "staff.search": Rule(STAFF),
    "staff.dashboard": Rule(STAFF),
    "staff.export": Rule(WORKERS),
    "staff.bulk": Rule(WORKERS),
    "staff.lead": Rule(STAFF, lead=True),
    "staff.lead_note": Rule(STAFF, lead=True),
    "staff.lead_status": Rule(WORKERS, lead=True),
    "staff.lead_call": Rule(WORKERS, lead=True),
    "staff.lead_consult": Rule(WORKERS, lead=True),
    "staff.lead_do_not_contact": Rule(WORKERS, lead=True),
    "staff.lead_assign": Rule(WORKERS, lead=True),
    "staff.lead_merge": Rule(WORKERS, lead=True),
    "staff.lead_erasure": Rule(WORKERS, lead=True),
    "staff.lead_decision": Rule(CLINICIANS, lead=True),
    # Possible duplicates: both leads of a pair (or a merge) must be in scope.
    "staff.duplicates": Rule(WORKERS),
    "staff.duplicate_pair": Rule(WORKERS, lead=True),
    "staff.duplicate_merge": Rule(WORKERS, lead=True),
    "staff.duplicate_dismiss": Rule(WORKERS, lead=True),
    "staff.merge_undo": Rule(WORKERS, lead=True),
    # Administration: admins only.
    **{
        endpoint: Rule(ADMIN)
        for endpoint in (
            "staff.admin_home",
            "staff.admin_staff",
            "staff.admin_staff_invite",
            "staff.admin_staff_edit",
            "staff.admin_staff_disable",
            "staff.admin_staff_enable",
            "staff.admin_staff_resend",
            "staff.admin_staff_reset_factor",
            "staff.admin_staff_send_reset",
            "staff.admin_staff_unlock",
            "staff.admin_teams",
            "staff.admin_team",
            "staff.admin_team_new",
            "staff.admin_rules",
            "staff.admin_rule",
            "staff.admin_rule_new",
            "staff.admin_cadences",
            "staff.admin_cadence_preview",
            "staff.admin_cadence_save",
            "staff.admin_cadence_reset",
            "staff.admin_questionnaire",
            "staff.admin_reevaluate",
            "staff.admin_dead_letters",
            "staff.admin_dead_letter_action",
            "staff.admin_outbox",
            "staff.admin_outbox_message",
            "staff.admin_outbox_html",
            "staff.admin_audit",
            "staff.admin_audit_export",
            "staff.admin_audit_verify",
            "staff.admin_retention",
            "staff.admin_erase",
        )
    },
}

# What counts as "let in": the page, a redirect after a POST, or the form's own refusal of an
# empty body. Never 401/403, never the sign-in page, never a 404 for an object that exists.
LET_IN = {200, 302, 303, 400, 405, 409, 410, 422}


@pytest.fixture
def app(app_factory):
    """CSRF checks off, so each request reaches the access guard (S-csrf is tested apart)."""
    return app_factory(WTF_CSRF_ENABLED=False)


@pytest.fixture
def world(app, make_staff):
    """Two teams; an admin; a coordinator and a clinician in team A; a coordinator in team B;
    a lead of team A; and one of each other object a route can name."""
    ids = {role: make_staff(role, team="Team A") for role in ("coordinator", "clinician")}
    ids["admin"] = make_staff("admin")
    ids["other_team"] = make_staff("coordinator", team="Team B")
    victim = make_staff("coordinator", team="Team A")
    with app.app_context():
        team = db.session.scalar(db.select(Team).where(Team.name == "Team A"))
        lead = make_lead(owner_id=ids["coordinator"], team_id=team.id)
        rule = RoutingRule(name="Matrix rule", priority=5, team_id=team.id, conditions={})
        now = utcnow()
        dead = Send(key=f"{lead.id}:matrix:1", lead_id=lead.id, cadence="nurture", step=1,
                    template="nurture", status="dead", due_at=now, attempts=6)  # fmt: skip
        mail = CapturedEmail(message_id="<matrix@intake.test>", recipient=lead.email,
                             subject="Hi", headers={}, text_body="Hi", html_body="-")  # fmt: skip
        db.session.add_all([rule, dead, mail])
        twin = make_lead(owner_id=ids["coordinator"], team_id=team.id)
        gone = make_lead(team_id=team.id, status="merged", merged_into_id=lead.id)
        pair = DuplicatePair(lead_id=lead.id, other_id=twin.id, reason="same phone, different name")
        merge = LeadMerge(kept_id=lead.id, merged_id=gone.id, merged_at=now, moved={},
                          before={"kept": {}, "merged": {"status": "new"}})  # fmt: skip
        db.session.add_all([pair, merge])
        db.session.commit()
        args = {"lead_id": lead.id, "user_id": victim, "team_id": team.id, "rule_id": rule.id,
                "send_id": dead.id, "action": "retry", "message_id": mail.id,
                "template": "confirmation", "step": 1, "token": "not-a-real-token",
                "step_id": "about_ms", "filename": "intake.css", "name": "nurture",
                "pair_id": pair.id, "merge_id": merge.id}  # fmt: skip
    return ids, args


def requests_for(app, args) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route and method in the URL map. Built as a list, so
    the request context used for ``url_for`` is gone before any request is made."""
    from flask import url_for

    with app.test_request_context():
        return [
            (rule.endpoint, method, url_for(rule.endpoint, **{a: args[a] for a in rule.arguments}))
            for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        ]


def send(client, method: str, url: str):
    response = client.open(url, method=method, data={}, follow_redirects=False)
    response.close()  # static files are streamed from an open file
    return response


def to_sign_in(response) -> bool:
    return response.status_code == 302 and "/staff/login" in response.headers.get("Location", "")


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
