"""Staff tasks on the pages: a call-back request asks when and makes a task; "My tasks" lists
the reader's open tasks soonest first in their own zone; the lead page shows and adds tasks;
Done and Cancel close them; the queue shows each lead's next task; fixed query budgets; one
audit row per request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import AuditEvent, StaffTask
from intake.staff.leads import lead_views, task_views
from tests.conftest import page, text_of
from tests.factories import audit_count, seeded_lead
from tests.leads.conftest import events, only_audit_row
from tests.staff.conftest import QueryCounter, csrf_token
from tests.staff.leads.conftest import post_action, shown_ids

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 09:00 in New York (EST), the staff's zone


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The pages are drawn, and tasks made, at NOW."""
    for module in (lead_views, task_views):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)


def add_task(app, lead_id: int, assignee_id: int, due: datetime, kind: str = "call_back") -> int:
    with app.app_context():
        task = StaffTask(lead_id=lead_id, assignee_id=assignee_id, kind=kind, due_at=due,
                         status="open", created_at=NOW)  # fmt: skip
        db.session.add(task)
        db.session.commit()
        return task.id


def task(app, task_id: int) -> StaffTask:
    with app.app_context():
        return db.session.get(StaffTask, task_id)


def tasks(app) -> list[StaffTask]:
    with app.app_context():
        return list(db.session.scalars(select(StaffTask).order_by(StaffTask.id)))


# -- the call outcome ------------------------------------------------------------------------


def test_a_call_back_request_makes_a_call_back_task_due_when_the_caller_said(
    app, make_staff, sign_in
):
    me = make_staff("coordinator")
    lead_id = seeded_lead(app, owner_id=me)
    client = sign_in(app.test_client(), me)

    response = post_action(client, lead_id, "calls", {
        "call-outcome": "call_back_requested", "call-call_back_at": "2026-03-04T15:30",
    })  # fmt: skip

    assert response.status_code == 303
    [made] = tasks(app)
    # 15:30 on the caller's New York clock (EST) is 20:30 UTC.
    assert (made.kind, made.due_at, made.assignee_id) == (
        "call_back",
        datetime(2026, 3, 4, 20, 30, tzinfo=UTC),
        me,
    )
    assert [kind for kind, _ in events(app, lead_id)] == ["call", "task_created", "status_changed"]
    assert only_audit_row(app).action == "lead.call_logged"


def test_a_call_back_request_without_a_time_says_so_beside_the_time_field(app, make_staff, sign_in):
    me = make_staff("coordinator")
    lead_id = seeded_lead(app, owner_id=me)
    client = sign_in(app.test_client(), me)

    response = post_action(client, lead_id, "calls", {
        "call-outcome": "call_back_requested", "call-summary": "Busy at work",
    })  # fmt: skip

    assert response.status_code == 422
    error = page(response).find(id="call-call_back_at-error")
    assert "Enter when the patient asked to be called back." in error.get_text()
    assert page(response).find("textarea", id="call-summary").get_text().strip() == "Busy at work"
    assert tasks(app) == [] and events(app, lead_id) == []


# -- the lead page ----------------------------------------------------------------------------


def test_the_lead_page_shows_open_tasks_and_adds_one_for_a_chosen_colleague(
    app, make_staff, sign_in
):
    me = make_staff("coordinator", team="East")
    colleague = make_staff("coordinator", team="East", name="Cora Colleague")
    make_staff("coordinator", team="West", name="Wes Westerner")
    with app.app_context():
        from intake.models import Team

        east = db.session.scalar(select(Team.id).where(Team.name == "East"))
    lead_id = seeded_lead(app, owner_id=me, team_id=east)
    client = sign_in(app.test_client(), me)

    shown = page(client.get(f"/staff/leads/{lead_id}"))
    names = [o.get_text() for o in shown.select("select#task-assignee option")]
    assert "Cora Colleague" in names and "Wes Westerner" not in names
    assert shown.select_one("select#task-assignee option[selected]")["value"] == str(me)

    response = post_action(client, lead_id, "tasks", {
        "task-kind": "follow_up", "task-due": "2026-03-05T10:00",
        "task-assignee": str(colleague), "task-note": "Send the travel letter",
    })  # fmt: skip

    assert response.status_code == 303
    [made] = tasks(app)
    assert (made.kind, made.assignee_id, made.due_at) == (
        "follow_up",
        colleague,
        datetime(2026, 3, 5, 15, 0, tzinfo=UTC),
    )
    assert "travel" not in made.note_sealed
    shown = page(client.get(f"/staff/leads/{lead_id}"))
    assert "Task added: Follow up (for Cora Colleague) due Thu 5 Mar 2026, 10:00 EST" in " ".join(
        shown.get_text(" ").split()
    )
    section = shown.find(id="tasks")
    assert "Follow up Cora Colleague Thu 5 Mar 2026, 10:00 EST" in " ".join(
        section.select_one("tbody tr").get_text(" ").split()
    )


def test_a_task_due_in_the_past_is_refused_beside_the_due_field(app, make_staff, sign_in):
    me = make_staff("coordinator")
    lead_id = seeded_lead(app, owner_id=me)
    client = sign_in(app.test_client(), me)

    response = post_action(client, lead_id, "tasks", {
        "task-kind": "call_back", "task-due": "2026-03-03T08:00", "task-assignee": str(me),
    })  # fmt: skip

    assert response.status_code == 422
    assert "Choose a due time in the future." in page(response).find(id="task-due-error").get_text()
    assert tasks(app) == []
    assert only_audit_row(app).outcome == "failed"


def test_done_and_cancel_close_the_task_with_one_audit_row_each(app, make_staff, sign_in):
    me = make_staff("coordinator")
    lead_id = seeded_lead(app, owner_id=me)
    first = add_task(app, lead_id, me, NOW + timedelta(hours=1))
    second = add_task(app, lead_id, me, NOW + timedelta(hours=2))
    client = sign_in(app.test_client(), me)
    token = csrf_token(client, "/staff/tasks")
    before = audit_count(app)

    done = client.post(f"/staff/tasks/{first}/done", data={"csrf_token": token, "back": "lead"})
    cancelled = client.post(f"/staff/tasks/{second}/cancel", data={"csrf_token": token})
    again = client.post(f"/staff/tasks/{first}/done", data={"csrf_token": token})

    assert done.location.endswith(f"/staff/leads/{lead_id}")
    assert cancelled.location.endswith("/staff/tasks") and again.status_code == 303
    assert (task(app, first).status, task(app, first).done_by_id) == ("done", me)
    assert task(app, second).status == "cancelled"
    assert audit_count(app) - before == 3
    assert audit_count(app, action="task.done", outcome="failed") == 1  # already done
    assert "This task is already closed." in text_of(client.get("/staff/tasks"))


def test_a_task_is_moved_to_a_new_time_typed_in_the_readers_zone(app, make_staff, sign_in):
    me = make_staff("coordinator")  # New York: 09:00 EST at NOW
    lead_id = seeded_lead(app, owner_id=me)
    task_id = add_task(app, lead_id, me, NOW + timedelta(hours=1))
    client = sign_in(app.test_client(), me)
    shown = page(client.get(f"/staff/tasks/{task_id}/move?back=lead"))
    assert shown.select_one("#due")["value"] == "2026-03-03T10:00"  # its time, on my clock
    token = csrf_token(client, "/staff/tasks")
    before = audit_count(app)

    new_time = {"csrf_token": token, "back": "lead", "due": "2026-03-04T15:30"}
    moved = client.post(f"/staff/tasks/{task_id}/move", data=new_time)

    assert moved.status_code == 303 and moved.location.endswith(f"/staff/leads/{lead_id}")
    assert task(app, task_id).due_at == datetime(2026, 3, 4, 20, 30, tzinfo=UTC)
    assert audit_count(app) - before == 1 and audit_count(app, action="task.moved") == 1
    assert "task_rescheduled" in [kind for kind, _ in events(app, lead_id)]


@pytest.mark.parametrize(
    ("due", "says"),
    [("", "Enter the new date and time"), ("2026-03-03T08:00", "in the future")],
)
def test_a_task_moved_into_the_past_or_nowhere_says_so_beside_the_field(
    app, make_staff, sign_in, due, says
):
    me = make_staff("coordinator")
    task_id = add_task(app, seeded_lead(app, owner_id=me), me, NOW + timedelta(hours=1))
    client = sign_in(app.test_client(), me)
    token = csrf_token(client, "/staff/tasks")

    response = client.post(f"/staff/tasks/{task_id}/move", data={"csrf_token": token, "due": due})

    assert response.status_code == 422
    assert says in page(response).select_one("#due-error").get_text()
    assert task(app, task_id).due_at == NOW + timedelta(hours=1)
    if due:
        assert page(response).select_one("#due")["value"] == due  # what was typed is kept


def test_a_member_of_another_team_cannot_close_its_task(app, make_staff, sign_in):
    owner = make_staff("coordinator", team="East")
    with app.app_context():
        from intake.models import Team

        east = db.session.scalar(select(Team.id).where(Team.name == "East"))
    task_id = add_task(app, seeded_lead(app, owner_id=owner, team_id=east), owner, NOW)
    client = sign_in(app.test_client(), make_staff("coordinator", team="West"))

    token = csrf_token(client, "/staff/tasks")
    response = client.post(f"/staff/tasks/{task_id}/done", data={"csrf_token": token})

    assert response.status_code == 404
    assert task(app, task_id).status == "open"


# -- My tasks ---------------------------------------------------------------------------------


def test_my_tasks_lists_my_open_tasks_overdue_first_then_by_due_time_in_my_zone(
    app, make_staff, sign_in
):
    me, other = make_staff("coordinator"), make_staff("coordinator")
    lead_a = seeded_lead(app, owner_id=me, first_name="Grace", last_name="Hopper")
    lead_b = seeded_lead(app, owner_id=me)
    later = add_task(app, lead_a, me, NOW + timedelta(days=1), kind="follow_up")
    overdue = add_task(app, lead_b, me, NOW - timedelta(hours=2))
    soon = add_task(app, lead_b, me, NOW + timedelta(hours=1))
    add_task(app, lead_a, other, NOW - timedelta(days=1))  # someone else's
    closed = add_task(app, lead_a, me, NOW - timedelta(days=2))
    with app.app_context():
        db.session.get(StaffTask, closed).status = "done"
        db.session.commit()
    client = sign_in(app.test_client(), me)

    response = client.get("/staff/tasks")

    rows = page(response).select("tbody tr")
    ids = [int(r.find("form")["action"].split("/")[-2]) for r in rows]
    assert ids == [overdue, soon, later]
    first = " ".join(rows[0].get_text(" ").split())
    assert "Call back" in first and "Tue 3 Mar 2026, 07:00 EST" in first and "Overdue" in first
    assert rows[2].find("a")["href"] == f"/staff/leads/{lead_a}"
    assert "Grace Hopper" in rows[2].get_text()
    [row] = [r for r in _audit_rows(app) if r.action == "tasks.viewed"]
    assert sorted(row.lead_ids) == sorted([lead_a, lead_b])


def _audit_rows(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent)))


def test_my_tasks_is_linked_beside_the_leads_and_the_queue_views(app, staff_client):
    client = staff_client("coordinator")
    shown = page(client.get("/staff/"))
    assert shown.select_one("nav.staff-nav, .staff-nav").find("a", string="My tasks")
    assert shown.select_one(".queue-tasks").find("a", string="My tasks")["href"] == "/staff/tasks"


# The session with its user (1), the open tasks with their leads and assignees (1), and the
# audit row: chain head and insert (2); whatever the number of tasks.
MY_TASKS_QUERIES = 4


@pytest.mark.parametrize("count", [1, 8])
def test_my_tasks_costs_a_fixed_number_of_queries(app, make_staff, sign_in, count):
    me = make_staff("coordinator")
    for offset in range(count):
        add_task(app, seeded_lead(app, owner_id=me), me, NOW + timedelta(hours=offset))
    client = sign_in(app.test_client(), me)
    client.get("/staff/tasks")

    with QueryCounter(app) as counter:
        response = client.get("/staff/tasks")

    assert response.status_code == 200
    assert len(page(response).select("tbody tr")) == count
    assert counter.count == MY_TASKS_QUERIES, "\n---\n".join(s[:300] for s in counter.statements)


# -- the queue --------------------------------------------------------------------------------


def test_the_queue_shows_each_leads_next_open_task_in_five_statements(
    app, make_staff, sign_in, seed
):
    me = make_staff("coordinator", team="East")
    with_tasks, without = seed(owner_id=me), seed(owner_id=me)
    add_task(app, with_tasks, me, NOW + timedelta(days=2))
    add_task(app, with_tasks, me, NOW + timedelta(hours=3))
    done = add_task(app, with_tasks, me, NOW + timedelta(hours=1))
    with app.app_context():
        db.session.get(StaffTask, done).status = "done"
        db.session.commit()
    client = sign_in(app.test_client(), me)
    client.get("/staff/")

    with QueryCounter(app) as counter:
        response = client.get("/staff/")

    assert counter.count == 5, "\n\n".join(counter.statements)
    shown = page(response)
    assert sorted(shown_ids(response)) == sorted([with_tasks, without])
    cells = {
        int(r.select_one("th a")["href"].split("/")[-1]): r.select("td")[-2].get_text().strip()
        for r in shown.select("tbody tr")
    }
    assert cells == {with_tasks: "Tue 3 Mar 2026, 12:00 EST", without: "—"}
