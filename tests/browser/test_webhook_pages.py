"""The webhook admin pages in Chromium (axe finds nothing, errors shown and the secret shown
included) and through the Nu HTML checker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from intake.accounts.signin import open_totp_secret
from intake.extensions import db
from intake.models import StaffUser, WebhookDelivery
from intake.models.types import utcnow
from intake.webhooks.endpoints import EndpointData, create_endpoint
from tests.browser.test_calendar_pages import sign_in as sign_in_page
from tests.browser.test_html_validity import check, html

pytestmark = pytest.mark.browser


@pytest.fixture
def webhook_world(app, make_staff):
    """An admin, an endpoint with a delivered, a waiting and a dead delivery."""
    admin_id = make_staff("admin", email="admin@clinic.example", name="Grace Hopper")
    with app.app_context():
        admin = db.session.get(StaffUser, admin_id)
        data = EndpointData(url="http://127.0.0.1:9/in", description="CRM",
                            events=("lead.created", "lead.status_changed"))  # fmt: skip
        endpoint, _ = create_endpoint(data=data, actor=admin, allow_private=True, now=utcnow())
        now = utcnow()
        for n, (status, error) in enumerate(
            [("succeeded", None), ("pending", "HTTP 500"), ("dead", "timeout")]
        ):
            db.session.add(WebhookDelivery(endpoint_id=endpoint.id, message_id=f"msg_{n}",
                                           event_type="lead.created", payload={}, status=status,
                                           attempts=n + 1, last_error=error,
                                           next_attempt_at=now + timedelta(minutes=1)))  # fmt: skip
        db.session.commit()
        return endpoint.id, admin_id, open_totp_secret(admin)


def test_the_webhook_pages_have_no_violations(app, live_server, desktop_page, audit, webhook_world):
    endpoint_id, _admin, secret = webhook_world
    page = desktop_page
    sign_in_page(page, live_server, secret)
    for name, path in [
        ("webhooks", "/staff/admin/webhooks"),
        ("webhook form", f"/staff/admin/webhooks/{endpoint_id}"),
        ("new webhook", "/staff/admin/webhooks/new"),
        ("dead deliveries", "/staff/admin/webhooks/dead"),
    ]:
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, (name, response)
        audit.check(page, name)
    page.goto(f"{live_server}/staff/admin/webhooks/new")
    page.get_by_role("button", name="Save the webhook").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check(page, "new webhook, error shown")
    page.get_by_label("Address (URL)").fill("http://127.0.0.1:9/other")
    page.get_by_label("A new lead (lead.created)").check()
    page.get_by_role("button", name="Save the webhook").click()
    expect(page.get_by_label("Signing secret for http://127.0.0.1:9/other")).to_be_visible()
    audit.check(page, "the secret shown")
    audit.assert_clean()


def test_the_webhook_pages_are_valid_html(app, webhook_world, sign_in, tmp_path):
    endpoint_id, admin, _secret = webhook_world
    client = sign_in(app.test_client(), admin)
    pages = {
        name: html(client.get(path))
        for name, path in [
            ("webhooks", "/staff/admin/webhooks"),
            ("webhook form", f"/staff/admin/webhooks/{endpoint_id}"),
            ("new webhook", "/staff/admin/webhooks/new"),
            ("dead deliveries", "/staff/admin/webhooks/dead"),
        ]
    }
    body = client.get("/staff/admin/webhooks/new").get_data(as_text=True)
    token = body.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    pages["new webhook, error shown"] = html(
        client.post("/staff/admin/webhooks/new", data={"csrf_token": token, "url": "ftp://x"}), 422
    )
    pages["the secret shown"] = html(
        client.post(f"/staff/admin/webhooks/{endpoint_id}/rotate", data={"csrf_token": token})
    )
    (tmp_path / "pages").mkdir()
    found = check(pages, tmp_path / "pages")
    failures = {name: errors for name, errors in found.items() if errors}
    assert not failures, "\n".join(f"{name}: {errors}" for name, errors in failures.items())
