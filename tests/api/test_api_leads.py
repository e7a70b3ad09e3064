"""Leads through the API: keyset pages stable under inserts, the queue's filters and search,
an exact statement count a page, answers only with their scope, status and owner changes
through the pipeline's rules, notes sealed like staff notes, and problem details."""

from __future__ import annotations

from datetime import timedelta

from intake.extensions import db
from intake.inquiries.answers import write_answers
from intake.models import Lead, LeadEvent
from tests.api.conftest import bearer
from tests.factories import NOW, make_inquiry, make_lead
from tests.staff.conftest import QueryCounter


def _leads(app, count: int, **fields) -> list[int]:
    with app.app_context():
        ids = [
            make_lead(created_at=NOW - timedelta(minutes=n), email=f"p{n}@example.org", **fields).id
            for n in range(count)
        ]
        db.session.commit()
        return ids


def _all_pages(client, token, cursor=None, **params) -> list[int]:
    seen = []
    while True:
        query = {**params, "cursor": cursor} if cursor else params
        response = client.get("/api/v1/leads", query_string=query, headers=bearer(token))
        assert response.status_code == 200, response.json
        seen += [lead["id"] for lead in response.json["items"]]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return seen


def test_keyset_pages_cover_every_lead_once_even_while_new_leads_arrive(app, make_key):
    ids = _leads(app, 7)
    token, client = make_key("leads:read"), app.test_client()
    first = client.get("/api/v1/leads?limit=3&sort=newest", headers=bearer(token)).json
    assert [lead["id"] for lead in first["items"]] == ids[:3]
    _leads(app, 2)  # newer leads arrive: they sort before the cursor, so no page shifts
    rest = _all_pages(client, token, first["next_cursor"], limit=3, sort="newest")
    assert rest[:4] == ids[3:]
    oldest = _all_pages(client, token, limit=2, sort="oldest")
    assert len(oldest) == len(set(oldest)) == 9


def test_a_page_of_leads_is_a_fixed_number_of_statements(app, make_key):
    _leads(app, 30)
    token, client = make_key("leads:read"), app.test_client()
    client.get("/api/v1/leads?limit=1", headers=bearer(token))  # last_used_at is now fresh
    with QueryCounter(app) as counter:
        response = client.get("/api/v1/leads?limit=25&status=new", headers=bearer(token))
    assert response.status_code == 200 and len(response.json["items"]) == 25
    # the key, the page, and the audit row (the chain's head, then the row)
    assert counter.count == 4, counter.statements


def test_filters_and_search_are_the_queues(app, make_key):
    _leads(app, 3)
    with app.app_context():
        other = make_lead(first_name="Grace", last_name="Hopper", email="grace@example.org",
                          language="es", status="contacted")  # fmt: skip
        db.session.commit()
        other_id = other.id
    token, client = make_key("leads:read"), app.test_client()
    for query in ("q=hopper", "q=grace@example.org", "language=es", "status=contacted"):
        response = client.get(f"/api/v1/leads?{query}", headers=bearer(token))
        assert [lead["id"] for lead in response.json["items"]] == [other_id], query
    lead = client.get("/api/v1/leads?q=hopper", headers=bearer(token)).json["items"][0]
    assert lead["email"] == "grace@example.org" and lead["language"] == "es"
    assert "answers" not in lead and "ms_type" not in lead


def test_answers_only_with_the_answers_scope(app, make_key):
    with app.app_context():
        lead = make_lead()
        inquiry = make_inquiry(lead, status="complete")
        write_answers(inquiry, {"ms_type": "RRMS", "cancer_5y": "no"})
        db.session.commit()
        lead_id = lead.id
    client = app.test_client()
    plain = client.get(f"/api/v1/leads/{lead_id}", headers=bearer(make_key("leads:read")))
    full = client.get(
        f"/api/v1/leads/{lead_id}", headers=bearer(make_key("leads:read", "leads:read_answers"))
    )
    assert "answers" not in plain.json["inquiries"][0]
    assert "RRMS" not in plain.get_data(as_text=True)
    assert full.json["inquiries"][0]["answers"] == {"ms_type": "RRMS", "cancer_5y": "no"}


def test_status_and_owner_change_by_the_pipelines_rules(app, make_key, make_staff):
    owner = make_staff("coordinator")
    (lead_id,) = _leads(app, 1)
    token, client = make_key("leads:write"), app.test_client()
    url = f"/api/v1/leads/{lead_id}"
    skipped = client.patch(url, json={"status": "treated"}, headers=bearer(token))
    assert skipped.status_code == 422 and skipped.mimetype == "application/problem+json"
    assert "status" in skipped.json["errors"]
    closing = client.patch(url, json={"status": "not_interested"}, headers=bearer(token))
    assert closing.status_code == 422 and "reason" in closing.json["errors"]
    moved = client.patch(url, json={"status": "contacted", "owner_id": owner},
                         headers=bearer(token))  # fmt: skip
    assert moved.status_code == 200
    assert (moved.json["status"], moved.json["owner_id"]) == ("contacted", owner)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.first_contacted_at is not None and lead.assigned_at is not None


def test_a_note_is_sealed_like_a_staff_note(app, make_key):
    (lead_id,) = _leads(app, 1)
    client = app.test_client()
    response = client.post(f"/api/v1/leads/{lead_id}/notes", json={"text": "Prefers mornings"},
                           headers=bearer(make_key("leads:write")))  # fmt: skip
    assert response.status_code == 201 and response.json["lead_id"] == lead_id
    with app.app_context():
        event = db.session.get(LeadEvent, response.json["id"])
        assert event.kind == "note" and "Prefers" not in (event.text_sealed or "")


def test_errors_are_problem_details(app, make_key):
    token, client = make_key(), app.test_client()
    cases = {
        400: client.get("/api/v1/leads?cursor=not-a-cursor", headers=bearer(token)),
        404: client.get("/api/v1/leads/999999", headers=bearer(token)),
        415: client.post("/api/v1/inquiries", data="x", headers=bearer(token)),
        422: client.get("/api/v1/leads?limit=0&sort=sideways", headers=bearer(token)),
        413: client.post(
            "/api/v1/inquiries", json={"contact": {"x": "a" * 300_000}}, headers=bearer(token)
        ),  # fmt: skip
    }
    for status, response in cases.items():
        assert response.status_code == status, (status, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == status
        assert set(response.json) >= {"type", "title", "status", "detail"}
    assert set(cases[422].json["errors"]) == {"limit", "sort"}


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(app_factory):
    app = app_factory(INTAKE_API_RATE_LIMIT="2 per minute", RATELIMIT_STORAGE_URI="memory://")
    from intake.accounts.api_keys import create_api_key

    with app.app_context():
        token = create_api_key(
            name="Busy", scopes=["leads:read"], created_by_id=None, now=NOW
        ).token
        db.session.commit()
    client = app.test_client()
    statuses = [client.get("/api/v1/leads", headers=bearer(token)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get("/api/v1/leads", headers=bearer(token))
    assert (
        refused.mimetype == "application/problem+json" and int(refused.headers["Retry-After"]) > 0
    )


def test_filtering_by_a_health_answer_needs_the_answers_scope(app, make_key):
    _leads(app, 1, ms_type="RRMS")
    client = app.test_client()
    plain = client.get("/api/v1/leads?ms_type=RRMS", headers=bearer(make_key("leads:read")))
    full = client.get(
        "/api/v1/leads?ms_type=RRMS", headers=bearer(make_key("leads:read", "leads:read_answers"))
    )
    assert plain.status_code == 403 and plain.mimetype == "application/problem+json"
    assert full.status_code == 200 and len(full.json["items"]) == 1


def test_an_unexpected_failure_is_a_500_problem_and_audited_as_failed(app_factory, make_key):
    app = app_factory()

    def boom():
        raise RuntimeError("a test-only failure")

    app.add_url_rule("/api/v1/__boom", "api_boom", boom)
    response = app.test_client().get("/api/v1/__boom")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert "test-only" not in response.get_data(as_text=True)
    from tests.factories import last_audit

    row = last_audit(app)
    assert (row.actor_role, row.outcome, row.detail["status"]) == ("api", "failed", 500)


def test_the_reference_lists_every_operation_with_its_scope_and_no_script(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0" and spec["info"]["title"] == "intake API"
    html = client.get("/api/v1/docs")
    text = html.get_data(as_text=True)
    assert html.status_code == 200 and "<script" not in text and "style=" not in text
    assert "'unsafe-inline'" not in html.headers["Content-Security-Policy"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert f"{method.upper()} {path}" in text
            for need in operation["security"]:
                for scope in need["bearer"]:
                    assert f"<code>{scope}</code>" in text
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in text
