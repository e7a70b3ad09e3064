"""The API's access matrix: every route under /api/v1 in the URL map, for no key, a revoked
key, a key without the route's scope and a key with only that scope (401, 401, 403, 2xx); a
route missing from the matrix fails. Every call writes exactly one audit row, refusals too."""

from __future__ import annotations

import pytest

from intake.extensions import db
from intake.models import AuditEvent, Lead, WebhookDelivery, WebhookEndpoint
from tests.api.conftest import bearer, inquiry_body
from tests.factories import NOW, audit_count, make_lead

# (endpoint, method) -> the scope it needs (None: public, the document and its reference).
API_MATRIX = {
    ("api-v1.openapi_json", "GET"): None,
    ("api-v1.reference", "GET"): None,
    ("api_v1_leads.list_leads", "GET"): "leads:read",
    ("api_v1_leads.lead", "GET"): "leads:read",
    ("api_v1_leads.lead", "PATCH"): "leads:write",
    ("api_v1_leads.add_note", "POST"): "leads:write",
    ("api_v1_inquiries.create_inquiry", "POST"): "inquiries:create",
    ("api_v1_activity.list_consults", "GET"): "leads:read",
    ("api_v1_activity.list_tasks", "GET"): "leads:read",
    ("api_v1_webhooks.list_webhook_events", "GET"): "webhooks:manage",
    ("api_v1_webhooks.webhooks", "GET"): "webhooks:manage",
    ("api_v1_webhooks.webhooks", "POST"): "webhooks:manage",
    ("api_v1_webhooks.webhook", "GET"): "webhooks:manage",
    ("api_v1_webhooks.webhook", "PATCH"): "webhooks:manage",
    ("api_v1_webhooks.webhook", "DELETE"): "webhooks:manage",
    ("api_v1_webhooks.rotate_webhook_secret", "POST"): "webhooks:manage",
    ("api_v1_webhooks.list_webhook_deliveries", "GET"): "webhooks:manage",
    ("api_v1_webhooks.retry_webhook_delivery", "POST"): "webhooks:manage",
}
OTHER_SCOPE = {
    "leads:read": "inquiries:create",
    "leads:write": "leads:read",
    "inquiries:create": "leads:write",
    "webhooks:manage": "leads:write",
}


def api_requests(app, world: dict) -> list[tuple[str, str, str, dict | None]]:
    """(endpoint, method, url, json body) for every /api/v1 route and method."""
    from flask import url_for

    owner_id = world["owner_id"]
    bodies = {
        ("api_v1_leads.lead", "PATCH"): {"owner_id": owner_id},
        ("api_v1_leads.add_note", "POST"): {"text": "Called from the partner's system."},
        ("api_v1_inquiries.create_inquiry", "POST"): inquiry_body(),
        ("api_v1_webhooks.webhooks", "POST"): {
            "url": "http://127.0.0.1:9/hooks",
            "events": ["lead.created"],
        },
        ("api_v1_webhooks.webhook", "PATCH"): {"description": "The CRM"},
    }
    with app.test_request_context():
        return [
            (
                rule.endpoint,
                method,
                url_for(rule.endpoint, **{a: world[a] for a in rule.arguments}),
                bodies.get((rule.endpoint, method)),
            )
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/v1/")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        ]


@pytest.fixture
def world(app, make_staff) -> dict:
    """A lead, a member of staff, and a webhook endpoint with one dead delivery (to retry)."""
    owner = make_staff("coordinator")
    with app.app_context():
        lead_id = make_lead().id
        endpoint = WebhookEndpoint(url="http://127.0.0.1:9/in", events=["lead.created"],
                                   secret_sealed="-")  # fmt: skip
        db.session.add(endpoint)
        db.session.flush()
        dead = WebhookDelivery(endpoint_id=endpoint.id, message_id="msg_matrix", payload={},
                               event_type="lead.created", status="dead", attempts=8,
                               next_attempt_at=NOW, created_at=NOW)  # fmt: skip
        db.session.add(dead)
        db.session.commit()
        ids = {"endpoint_id": endpoint.id, "delivery_id": dead.id}
    return {"lead_id": lead_id, "owner_id": owner, **ids}


def _send(client, method, url, body, headers):
    return client.open(url, method=method, json=body, headers=headers)


def test_every_api_route_is_in_the_api_matrix(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == set(API_MATRIX)


def test_each_route_refuses_no_key_a_revoked_key_and_a_missing_scope_and_serves_its_scope(
    app, world, make_key
):
    revoked = make_key(revoked=True)
    failures = []
    for endpoint, method, url, body in api_requests(app, world):
        scope = API_MATRIX[endpoint, method]
        client = app.test_client()
        if scope is None:
            status = _send(client, method, url, body, {}).status_code
            if status != 200:
                failures.append(f"{method} {url} public: {status}")
            continue
        cases = {
            "no key": ({}, 401),
            "not a key": (bearer("ik_nothing_here"), 401),
            "revoked": (bearer(revoked), 401),
            "other scope": (bearer(make_key(OTHER_SCOPE[scope])), 403),
            "its scope": (bearer(make_key(scope)), None),
        }
        for case, (headers, wanted) in cases.items():
            response = _send(client, method, url, body, headers)
            status = response.status_code
            ok = 200 <= status < 300 if wanted is None else status == wanted
            if not ok:
                failures.append(
                    f"{method} {url} {case}: {status} {response.get_data(as_text=True)}"
                )
            if status in (401, 403):
                assert response.mimetype == "application/problem+json"
            if status == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert failures == []


def test_every_api_call_writes_exactly_one_audit_row_naming_the_key_and_no_patient(
    app, world, make_key
):
    lead_id, token = world["lead_id"], make_key()
    failures = {}
    for endpoint, method, url, body in api_requests(app, world):
        if API_MATRIX[endpoint, method] is None:
            continue
        for headers in ({}, bearer(token)):
            before = audit_count(app)
            response = _send(app.test_client(), method, url, body, headers)
            added = audit_count(app) - before
            if added != 1:
                failures[f"{method} {url} {bool(headers)}"] = (response.status_code, added)
    assert failures == {}
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent).where(AuditEvent.actor_role == "api"))
        rows = list(rows)
        lead = db.session.get(Lead, lead_id)
        words = {lead.first_name, lead.last_name, lead.email}
    assert {row.outcome for row in rows} == {"ok", "denied"}
    for row in rows:
        assert not any(word in str(row.detail) + str(row.target) for word in words)
        assert row.target is None or row.target.startswith("api_key:")
    touched = [row for row in rows if row.action == "api.lead.get" and row.outcome == "ok"]
    assert touched and touched[0].lead_ids == [lead_id]


def test_an_unknown_path_and_a_wrong_method_are_problem_details_and_audited(app):
    client = app.test_client()
    before = audit_count(app)
    missing = client.get("/api/v1/nothing-here")
    wrong = client.delete("/api/v1/leads")
    assert (missing.status_code, wrong.status_code) == (404, 405)
    for response in (missing, wrong):
        assert response.mimetype == "application/problem+json"
        assert set(response.json) >= {"type", "title", "status", "detail"}
    assert wrong.headers["Allow"]
    assert audit_count(app) - before == 2
