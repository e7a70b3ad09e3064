"""The task pages in Chromium and the Nu HTML checker: "My tasks" (with an overdue task), the
lead page's tasks section, its "Add a task" form with an error shown, and the queue with its
next-task column pass axe-core (A1) and have no HTML errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from intake.accounts.signin import open_totp_secret
from intake.extensions import db
from intake.models import StaffTask, StaffUser
from intake.models.types import utcnow
from tests.browser.test_html_validity import check
from tests.factories import PASSWORD, saved_lead

pytestmark = pytest.mark.browser


@pytest.fixture
def coordinator_with_tasks(app, make_staff):
    """A coordinator with an overdue call-back and a follow-up due tomorrow on their lead."""
    me = make_staff("coordinator", team="Team A", email="cora@clinic.example", name="Cora Lee")
    lead_id = saved_lead(app, owner_id=me)
    with app.app_context():
        now = utcnow()  # the live server reads the real clock; only "before" and "after" matter
        db.session.add_all([
            StaffTask(lead_id=lead_id, assignee_id=me, kind="call_back",
                      due_at=now - timedelta(hours=2), status="open"),
            StaffTask(lead_id=lead_id, assignee_id=me, kind="follow_up",
                      due_at=now + timedelta(days=1), status="open"),
        ])  # fmt: skip
        secret = open_totp_secret(db.session.get(StaffUser, me))
        db.session.commit()
    return me, lead_id, secret


def test_my_tasks_and_the_lead_pages_tasks_have_no_violations(
    app, live_server, desktop_page, audit, coordinator_with_tasks
):
    _me, lead_id, secret = coordinator_with_tasks
    page = desktop_page
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email address").fill("cora@clinic.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/staff/login/code"))
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.goto(f"{live_server}/staff/")
    expect(page.get_by_role("columnheader", name="Next task")).to_be_visible()
    audit.check(page, "lead queue with a next-task column")
    page.get_by_role("link", name="My tasks").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My tasks")
    expect(page.get_by_text("Overdue", exact=True)).to_be_visible()
    audit.check(page, "my tasks")

    page.goto(f"{live_server}/staff/leads/{lead_id}")
    tasks = page.locator("#tasks")
    expect(tasks.get_by_role("row")).to_have_count(3)
    audit.check(page, "lead page with open tasks")
    page.locator("#add-task").get_by_role("button", name="Add task").click()
    expect(page.locator("#task-due-error")).to_be_visible()
    audit.check(page, "lead page, a task without a due time (error shown)")

    page.goto(f"{live_server}/staff/tasks")
    page.get_by_role("link", name=re.compile(r"^Move")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Move a task")
    audit.check(page, "moving a task")
    page.get_by_label("New due time (your time)").fill("")
    page.get_by_role("button", name="Move the task").click()
    expect(page.locator("#due-error")).to_be_visible()
    audit.check(page, "moving a task without a time (error shown)")

    page.goto(f"{live_server}/staff/tasks")
    page.get_by_role("button", name=re.compile(r"^Done")).first.click()
    expect(page.get_by_role("status")).to_contain_text("Task done.")
    audit.check(page, "my tasks after marking one done (message shown)")
    audit.assert_clean()


def test_the_task_pages_are_valid_html(app, make_staff, sign_in, tmp_path):
    me = make_staff("coordinator", team="Team A")
    lead_id = saved_lead(app, owner_id=me)
    with app.app_context():
        task = StaffTask(lead_id=lead_id, assignee_id=me, kind="call_back",
                         due_at=utcnow() - timedelta(hours=1), status="open")  # fmt: skip
        db.session.add(task)
        db.session.commit()
        task_id = task.id
    client = sign_in(app.test_client(), me)
    pages = {
        "lead queue with tasks": client.get("/staff/").get_data(as_text=True),
        "my tasks": client.get("/staff/tasks").get_data(as_text=True),
        "lead page with tasks": client.get(f"/staff/leads/{lead_id}").get_data(as_text=True),
        "moving a task": client.get(f"/staff/tasks/{task_id}/move").get_data(as_text=True),
    }
    empty = sign_in(app.test_client(), make_staff("coordinator"))
    pages["my tasks, none"] = empty.get("/staff/tasks").get_data(as_text=True)

    found = check(pages, tmp_path)

    assert found == dict.fromkeys(pages, []), found
