"""Webhook subscriptions through the API (scope webhooks:manage), on both databases: the secret
a creation answers with verifies a delivery the project's transport signs and posts to a real
receiver; the admin form's address and event rules (private addresses refused when
INTAKE_WEBHOOK_ALLOW_PRIVATE is off); rotation; dead deliveries retried; keyset pages of
deliveries without payloads; an exact statement count for the list; one audit row per call.

The receiver's Standard Webhooks library checks ``webhook-timestamp`` against the real clock,
so the live delivery test signs at the real time (as tests/webhooks/test_delivery.py does)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from intake.extensions import db
from intake.models import AuditEvent, IdempotencyRecord, WebhookDelivery, WebhookEndpoint
from intake.models.types import utcnow
from intake.webhooks import delivery
from intake.webhooks.endpoints import signing_secret
from intake.webhooks.transport import body_of, signed_headers
from tests.api.conftest import bearer
from tests.factories import NOW, audit_count
from tests.staff.conftest import QueryCounter
from tests.webhooks.support import deliver, receiver_on_loopback

HOOKS = "/api/v1/webhooks"
LOCAL = "http://127.0.0.1:9/in"


def _create(client, token, **body):
    body = {"url": LOCAL, "events": ["lead.created"], **body}
    return client.post(HOOKS, json=body, headers=bearer(token))


def _deliveries(app, endpoint_id: int, statuses) -> list[int]:
    with app.app_context():
        rows = [
            WebhookDelivery(endpoint_id=endpoint_id, message_id=f"msg_{n}", payload={"data": {}},
                            event_type="lead.created", status=status, attempts=8 if status ==
                            "dead" else 1, next_attempt_at=NOW, created_at=NOW + timedelta(
                                seconds=n), last_status_code=500, last_error="HTTP 500")
            for n, status in enumerate(statuses)
        ]  # fmt: skip
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def test_a_created_subscription_s_secret_verifies_what_the_transport_signs_and_posts(app, make_key):
    token, client = make_key("webhooks:manage"), app.test_client()
    with receiver_on_loopback() as receiver:
        response = _create(client, token, url=receiver.url, description="The CRM\n",
                           events=["lead.created", "reply.received"])  # fmt: skip
        assert response.status_code == 201, response.json
        created = response.json
        assert created["secret"].startswith("whsec_")
        assert created["description"] == "The CRM"  # cleaned to one line, as on the admin form
        assert created["events"] == ["lead.created", "reply.received"] and created["active"]
        receiver.secret = created["secret"]
        with app.app_context():
            now = utcnow()  # the receiver's library checks the timestamp against the clock
            endpoint = db.session.get(WebhookEndpoint, created["id"])
            assert created["secret"] not in endpoint.secret_sealed
            delivery_id = delivery.queue_test(endpoint=endpoint, now=now)
            db.session.commit()
            assert deliver(delivery_id, now) == "succeeded"
    ((_headers, _body, verified),) = receiver.received
    assert verified == {"type": "webhook.test", "timestamp": verified["timestamp"],
                        "data": {"endpoint_id": created["id"]}}  # fmt: skip
    for url in (HOOKS, f"{HOOKS}/{created['id']}"):
        shown = client.get(url, headers=bearer(token))
        assert shown.status_code == 200 and created["secret"] not in shown.get_data(as_text=True)
    listed = client.get(HOOKS, headers=bearer(token)).json["items"]
    assert [set(item) for item in listed] == [
        {"id", "url", "description", "events", "active", "created_at"}
    ]


def test_a_repeated_idempotency_key_answers_the_same_subscription_without_its_secret(app, make_key):
    token, client = make_key("webhooks:manage"), app.test_client()
    headers = bearer(token, **{"Idempotency-Key": "hook-1"})
    body = {"url": LOCAL, "events": ["lead.created"]}
    first = client.post(HOOKS, json=body, headers=headers)
    again = client.post(HOOKS, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"] and "secret" not in again.json
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint)) == 1
        (record,) = db.session.scalars(db.select(IdempotencyRecord))
        assert "secret" not in record.body and first.json["secret"] not in str(record.body)


@pytest.fixture
def production_rules(app_factory):
    return app_factory(INTAKE_WEBHOOK_ALLOW_PRIVATE=False)


def test_private_and_plain_http_addresses_are_refused_when_private_is_not_allowed(
    production_rules, make_key
):
    app = production_rules
    token, client = make_key("webhooks:manage"), app.test_client()
    for url, words in (
        ("https://127.0.0.1/in", "loopback"),
        ("https://10.0.0.7/in", "private"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://[::ffff:192.168.1.1]/in", "private"),
        ("http://8.8.8.8/in", "https://"),
    ):
        response = _create(client, token, url=url)
        assert response.status_code == 422, url
        assert response.mimetype == "application/problem+json"
        assert list(response.json["errors"]) == ["url"] and words in str(response.json), url
    assert _create(client, token, url="https://8.8.8.8/in").status_code == 201
    with app.app_context():
        endpoint_id = db.session.scalar(db.select(WebhookEndpoint.id))
    moved = client.patch(f"{HOOKS}/{endpoint_id}", json={"url": "https://192.168.0.2/"},
                         headers=bearer(token))  # fmt: skip
    assert moved.status_code == 422 and list(moved.json["errors"]) == ["url"]
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).url == "https://8.8.8.8/in"


def test_events_are_validated_and_listed(app, make_key):
    token, client = make_key("webhooks:manage"), app.test_client()
    for events in (["lead.deleted"], ["lead.created", "lead.gone"], [], ["webhook.test"]):
        response = _create(client, token, events=events)
        assert response.status_code == 422, events
        assert list(response.json["errors"]) == ["events"], response.json
    assert _create(client, token, unknown="x").status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint)) == 0
    twice = _create(client, token, events=["reply.received", "lead.created", "lead.created"])
    assert twice.json["events"] == ["lead.created", "reply.received"]  # as the form saves them
    listed = client.get(f"{HOOKS}/events", headers=bearer(token))
    assert listed.json["items"][0] == "lead.created" and "webhook.test" not in listed.json["items"]


def test_patch_changes_the_subscription_and_delete_disables_it_keeping_its_deliveries(
    app, make_key
):
    token, client = make_key("webhooks:manage"), app.test_client()
    endpoint_id = _create(client, token).json["id"]
    kept = _deliveries(app, endpoint_id, ["succeeded"])
    changes = {"events": ["consult.booked"], "description": "Calendar"}
    changed = client.patch(f"{HOOKS}/{endpoint_id}", headers=bearer(token), json=changes)
    assert changed.status_code == 200
    assert (changed.json["events"], changed.json["description"], changed.json["url"]) == (
        ["consult.booked"], "Calendar", LOCAL)  # fmt: skip
    gone = client.delete(f"{HOOKS}/{endpoint_id}", headers=bearer(token))
    assert gone.status_code == 204
    shown = client.get(f"{HOOKS}/{endpoint_id}", headers=bearer(token)).json
    assert shown["active"] is False
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.disabled_at is not None
        assert db.session.get(WebhookDelivery, kept[0]) is not None
    resumed = client.patch(f"{HOOKS}/{endpoint_id}", json={"active": True}, headers=bearer(token))
    assert resumed.json["active"] is True
    assert client.get(f"{HOOKS}/999999", headers=bearer(token)).status_code == 404
    empty = client.patch(f"{HOOKS}/{endpoint_id}", json={}, headers=bearer(token))
    assert empty.status_code == 422 and list(empty.json["errors"]) == ["url"]


def test_rotating_changes_the_secret_the_deliveries_are_signed_with(app, make_key):
    token, client = make_key("webhooks:manage"), app.test_client()
    created = _create(client, token).json
    rotated = client.post(f"{HOOKS}/{created['id']}/rotate-secret", headers=bearer(token))
    assert rotated.status_code == 200 and rotated.json["id"] == created["id"]
    new = rotated.json["secret"]
    assert new.startswith("whsec_") and new != created["secret"]
    with app.app_context():
        now = utcnow()  # Webhook.verify checks the timestamp against the clock
        secret = signing_secret(db.session.get(WebhookEndpoint, created["id"]))
        body = body_of({"type": "webhook.test", "data": {}})
        headers = signed_headers(secret=secret, message_id="msg_r", body=body, now=now)
    assert Webhook(new).verify(body, headers) == {"type": "webhook.test", "data": {}}
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(body, headers)


def test_a_dead_delivery_is_retried_and_anything_else_is_a_409_problem(app, make_key):
    token, client = make_key("webhooks:manage"), app.test_client()
    endpoint_id = _create(client, token).json["id"]
    dead, done = _deliveries(app, endpoint_id, ["dead", "succeeded"])
    retried = client.post(f"{HOOKS}/deliveries/{dead}/retry", headers=bearer(token))
    assert retried.status_code == 200, retried.json
    assert (retried.json["status"], retried.json["attempts"]) == ("pending", 0)
    for delivery_id in (dead, done):
        refused = client.post(f"{HOOKS}/deliveries/{delivery_id}/retry", headers=bearer(token))
        assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
        assert "not dead" in refused.json["detail"]
    with app.app_context():
        assert db.session.get(WebhookDelivery, done).status == "succeeded"
    missing = client.post(f"{HOOKS}/deliveries/999999/retry", headers=bearer(token))
    assert missing.status_code == 404


def test_deliveries_come_in_keyset_pages_newest_first_without_payloads(app, make_key):
    token, client = make_key("webhooks:manage"), app.test_client()
    endpoint_id = _create(client, token).json["id"]
    other_id = _create(client, token).json["id"]
    ids = _deliveries(app, endpoint_id, ["succeeded", "dead", "pending", "succeeded", "dead"])
    _deliveries(app, other_id, ["succeeded"])
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{HOOKS}/{endpoint_id}/deliveries", query_string=query,
                          headers=bearer(token)).json  # fmt: skip
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [item["id"] for item in seen] == ids[::-1]
    assert set(seen[0]) == {
        "id", "endpoint_id", "message_id", "event_type", "status", "attempts",
        "last_status_code", "last_error", "created_at", "succeeded_at",
    }  # fmt: skip
    assert (seen[0]["last_error"], seen[0]["last_status_code"]) == ("HTTP 500", 500)
    wrong = client.get(f"{HOOKS}/{other_id}/deliveries", query_string={"cursor": cursor or "x"},
                       headers=bearer(token))  # fmt: skip
    assert wrong.status_code == 400


def test_the_list_is_a_fixed_number_of_statements(app, make_key):
    token, client = make_key("webhooks:manage"), app.test_client()
    for _ in range(5):
        _create(client, token)
    client.get(HOOKS, headers=bearer(token))  # last_used_at is now fresh
    with QueryCounter(app) as counter:
        response = client.get(HOOKS, headers=bearer(token))
    assert response.status_code == 200 and len(response.json["items"]) == 5
    # the key, the endpoints, and the audit row (the chain's head, then the row)
    assert counter.count == 4, counter.statements


def test_each_call_is_audited_once_naming_the_key_and_never_the_secret(app, make_key):
    token, client = make_key("webhooks:manage"), app.test_client()
    before = audit_count(app)
    created = _create(client, token).json
    client.get(f"{HOOKS}/{created['id']}", headers=bearer(token))
    client.post(f"{HOOKS}/{created['id']}/rotate-secret", headers=bearer(token))
    _create(client, token, url="ftp://example.org/")
    client.get(HOOKS)
    assert audit_count(app) - before == 5
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()[-5:]
    assert [(row.action, row.outcome) for row in rows] == [
        ("api.webhooks.post", "ok"),
        ("api.webhook.get", "ok"),
        ("api.rotate_webhook_secret", "ok"),
        ("api.webhooks.post", "failed"),
        ("api.webhooks.get", "denied"),
    ]
    assert all(row.actor_role == "api" for row in rows)
    assert rows[0].target.startswith("api_key:") and rows[-1].target is None
    assert not any(created["secret"] in f"{row.detail}{row.target}" for row in rows)
