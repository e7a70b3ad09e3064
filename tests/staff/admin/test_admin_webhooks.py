"""The webhook admin pages: add (the secret shown once, stored sealed), edit, turn off and on,
a new secret, a test event, recent deliveries, dead deliveries retried; one audit row per
request, fixed query budgets."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from intake.extensions import db
from intake.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from intake.models.types import utcnow
from intake.webhooks.endpoints import signing_secret
from tests.conftest import page, text_of
from tests.staff.conftest import QueryCounter, csrf_token


def audits(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def add_webhook(
    client, url="http://127.0.0.1:9/in", events=("lead.created", "reply.received"), token=None
):
    data = {"csrf_token": token or csrf_token(client), "url": url, "description": "CRM",
            "events": list(events)}  # fmt: skip
    return client.post("/staff/admin/webhooks/new", data=data)


def shown_secret(response) -> str:
    return page(response).find(id="webhook-secret")["value"]


def endpoint_row(app) -> WebhookEndpoint:
    with app.app_context():
        row = db.session.scalars(select(WebhookEndpoint)).one()
        db.session.expunge(row)
        return row


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(app, staff_client):
    client = staff_client("admin")
    token = csrf_token(client)
    before = audits(app)
    response = add_webhook(client, token=token)
    assert response.status_code == 200 and audits(app) == before + 1
    secret = shown_secret(response)
    assert secret.startswith("whsec_")
    endpoint = endpoint_row(app)
    assert endpoint.events == ["lead.created", "reply.received"]
    assert secret not in endpoint.secret_sealed and secret[6:] not in endpoint.secret_sealed
    with app.app_context():
        assert signing_secret(db.session.get(WebhookEndpoint, endpoint.id)) == secret
    again = client.get(f"/staff/admin/webhooks/{endpoint.id}")
    assert again.status_code == 200 and secret not in again.get_data(as_text=True)
    assert "whsec_" not in client.get("/staff/admin/webhooks").get_data(as_text=True)


def test_no_event_chosen_is_a_plain_form_error(app, staff_client):
    client = staff_client("admin")
    token = csrf_token(client)
    before = audits(app)
    response = add_webhook(client, events=(), token=token)
    assert response.status_code == 422 and audits(app) == before + 1
    assert "Choose at least one event" in text_of(response)


def test_a_new_secret_replaces_the_old_one(app, staff_client):
    client = staff_client("admin")
    old = shown_secret(add_webhook(client))
    endpoint = endpoint_row(app)
    response = client.post(f"/staff/admin/webhooks/{endpoint.id}/rotate",
                           data={"csrf_token": csrf_token(client)})  # fmt: skip
    new = shown_secret(response)
    assert new != old and new.startswith("whsec_")
    with app.app_context():
        assert signing_secret(db.session.get(WebhookEndpoint, endpoint.id)) == new


def test_turning_off_and_on_and_a_test_event(app, staff_client):
    client = staff_client("admin")
    add_webhook(client)
    endpoint = endpoint_row(app)
    token = csrf_token(client)
    base = f"/staff/admin/webhooks/{endpoint.id}"
    assert client.post(f"{base}/disable", data={"csrf_token": token}).status_code == 303
    assert endpoint_row(app).active is False and endpoint_row(app).disabled_at is not None
    client.post(f"{base}/test", data={"csrf_token": token})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    client.post(f"{base}/enable", data={"csrf_token": token})
    before = audits(app)
    assert client.post(f"{base}/test", data={"csrf_token": token}).status_code == 303
    assert audits(app) == before + 1
    with app.app_context():
        (row,) = db.session.scalars(select(WebhookDelivery)).all()
        assert (row.event_type, row.status, row.payload["data"]) == (
            "webhook.test", "pending", {"endpoint_id": endpoint.id})  # fmt: skip
    assert "webhook.test" in text_of(client.get(base))


def test_a_dead_delivery_is_listed_and_retried(app, staff_client):
    client = staff_client("admin")
    add_webhook(client)
    endpoint = endpoint_row(app)
    with app.app_context():
        dead = WebhookDelivery(endpoint_id=endpoint.id, message_id="msg_dead", payload={},
                               event_type="lead.created", status="dead", attempts=8,
                               last_status_code=500, last_error="HTTP 500",
                               next_attempt_at=utcnow() - timedelta(days=1))  # fmt: skip
        db.session.add(dead)
        db.session.commit()
        dead_id = dead.id
    listed = client.get("/staff/admin/webhooks/dead")
    shown = text_of(listed)
    assert "HTTP 500" in shown and f"#{dead_id}" in shown
    assert any("Retry" in button.get_text() for button in page(listed).find_all("button"))
    token = csrf_token(client)
    before = audits(app)
    response = client.post(f"/staff/admin/webhooks/deliveries/{dead_id}/retry",
                           data={"csrf_token": token})  # fmt: skip
    assert response.status_code == 303 and audits(app) == before + 1
    with app.app_context():
        row = db.session.get(WebhookDelivery, dead_id)
        assert (row.status, row.attempts, row.message_id) == ("pending", 0, "msg_dead")


def test_the_webhook_pages_run_a_fixed_number_of_queries(app, staff_client):
    client = staff_client("admin")
    for n in range(3):
        add_webhook(client, url=f"http://127.0.0.1:9/in{n}")
    with app.app_context():
        ids = list(db.session.scalars(select(WebhookEndpoint.id)))
        db.session.add_all(
            WebhookDelivery(endpoint_id=ids[0], message_id=f"msg_{n}", payload={},
                            event_type="lead.created", status=status, next_attempt_at=utcnow())
            for n, status in enumerate(("pending", "dead", "succeeded", "dead"))
        )  # fmt: skip
        db.session.commit()
    counts = {}
    for url in ("/staff/admin/webhooks", f"/staff/admin/webhooks/{ids[0]}",
                "/staff/admin/webhooks/dead"):  # fmt: skip
        with QueryCounter(app) as queries:
            assert client.get(url).status_code == 200
        counts[url] = queries.count
    assert list(counts.values()) == [QUERIES_LIST, QUERIES_ENDPOINT, QUERIES_DEAD], counts


QUERIES_LIST = 9
QUERIES_ENDPOINT = 7
QUERIES_DEAD = 7
