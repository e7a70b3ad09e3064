"""The administration home page, and who may open the admin pages at all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intake.extensions import db
from intake.models import OutboxEvent, Send
from intake.models.types import utcnow
from tests.factories import audit_count, make_lead
from tests.staff.conftest import page

ADMIN_PAGES = [
    "/staff/admin/",
    "/staff/admin/teams",
    "/staff/admin/teams/new",
    "/staff/admin/rules",
    "/staff/admin/rules/new",
    "/staff/admin/cadences",
    "/staff/admin/cadences/preview/confirmation/1.html",
    "/staff/admin/templates",
    "/staff/admin/questionnaire",
    "/staff/admin/mail/dead",
    "/staff/admin/mail/outbox",
    "/staff/admin/audit",
    "/staff/admin/audit/export.csv",
    "/staff/admin/retention",
]
ADMIN_POSTS = [
    "/staff/admin/teams/new",
    "/staff/admin/rules/new",
    "/staff/admin/questionnaire/reevaluate",
    "/staff/admin/templates/first_reply/email/en",
    "/staff/admin/mail/dead/1/retry",
    "/staff/admin/mail/dead/1/discard",
    "/staff/admin/audit/verify",
    "/staff/admin/retention/1/erase",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_a_coordinator_is_refused_every_admin_page_and_the_refusal_is_audited(
    app, staff_client, url
):
    client = staff_client("coordinator")
    before = audit_count(app, action="access.denied")
    assert client.get(url).status_code == 403
    assert audit_count(app, action="access.denied") == before + 1


@pytest.mark.parametrize("url", ADMIN_POSTS)
def test_a_clinician_cannot_post_to_any_admin_action(app, staff_client, url):
    client = staff_client("clinician")
    token = page(client.get("/staff/dashboard")).find("input", {"name": "csrf_token"})["value"]
    assert client.post(url, data={"csrf_token": token}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/staff/admin/audit")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_the_home_page_links_every_admin_page_and_shows_the_mail_backlog(app, staff_client):
    client = staff_client("admin")
    now = utcnow()
    with app.app_context():
        lead = make_lead()
        db.session.add(
            OutboxEvent(
                topic="inquiry.completed",
                payload={"lead_id": lead.id, "inquiry_id": 0},
                created_at=now - timedelta(minutes=10),
            )
        )
        db.session.add(
            Send(
                key="dead-1",
                lead_id=lead.id,
                cadence="nurture",
                step=1,
                template="nurture",
                status="dead",
                due_at=now,
                attempts=6,
            )
        )
        db.session.commit()
    before = audit_count(app)
    response = client.get("/staff/admin/")
    assert response.status_code == 200
    assert audit_count(app) == before + 1
    html = page(response)
    links = {a["href"] for a in html.select(".admin-links a")}
    for url in ADMIN_PAGES[:-1]:
        if not url.endswith((".html", ".csv", "/new")) and url != "/staff/admin/":
            assert url in links
    assert html.find(id="outbox-pending").get_text(strip=True) == "1"
    assert "seconds" in html.find(id="outbox-age").get_text()
    assert int(html.find(id="outbox-age").get_text().split()[0]) >= 600
    assert html.find(id="dead-count").get_text(strip=True) == "1"


def test_admin_pages_carry_no_inline_styles_or_scripts(app, staff_client):
    client = staff_client("admin")
    for url in ADMIN_PAGES:
        if url.endswith((".html", ".csv")):
            continue
        html = page(client.get(url))
        assert not html.select("[style]") and not html.find("script"), url
        assert html.find("h1") is not None, url
