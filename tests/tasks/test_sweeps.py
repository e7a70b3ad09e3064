"""Task reminders and escalation: the assignee is emailed once when a task comes due, the team
lead (else the admins) once when it is still open hours later; beat may run the sweep twice at
once; a task closed before its email goes sends nothing; no patient detail in any of it."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.messaging.delivery import finish_send
from intake.models import CapturedEmail, Send, StaffTask
from intake.tasks import service
from intake.tasks.notices import task_stop
from intake.tasks.sweeps import sweep_tasks
from tests.factories import NOW, make_lead, make_staff, make_team
from tests.messaging.conftest import Recorder, smtp_server
from tests.messaging.test_delivery import claim, deliver_row, row
from tests.routing.conftest import at_once

DUE = NOW + timedelta(hours=1)
HOURS = 4
LATE = DUE + timedelta(hours=HOURS)
NOTHING = {"reminded": 0, "escalated": 0}
NOTE = "Ask whether the relapse in February needed steroids"
PATIENT = ("Ada", "Byron", "ada.byron@example.org", "555-0143", "relapse", "steroids")


def sweep(now) -> dict:
    counts = sweep_tasks(now=now, escalate_hours=HOURS)
    db.session.commit()
    return counts


def task_sends(cadence: str) -> list[Send]:
    query = select(Send).where(Send.cadence == cadence).order_by(Send.id)
    return list(db.session.scalars(query))


@pytest.fixture
def team(ctx):
    """Ana works a lead of a team led by Lee; Root is an admin."""
    people = {
        "Ana": make_staff("coordinator", name="Ana"),
        "Lee": make_staff("coordinator", name="Lee"),
        "Root": make_staff("admin", name="Root"),
    }
    east = make_team("East", [people["Ana"]], lead_staff_id=people["Lee"].id)
    lead = make_lead(owner_id=people["Ana"].id, team_id=east.id)
    task = service.create_task(
        lead=lead, kind="call_back", due_at=DUE, actor=people["Ana"], now=NOW, note=NOTE
    )
    db.session.commit()
    return {**people, "lead": lead, "task": task}


def test_the_assignee_is_reminded_once_when_the_task_comes_due(team):
    assert sweep(DUE - timedelta(seconds=1)) == NOTHING
    assert sweep(DUE) == {**NOTHING, "reminded": 1}
    assert sweep(DUE + timedelta(minutes=1)) == NOTHING

    [reminder] = task_sends("task_reminder")
    assert reminder.key == f"task:{team['task'].id}:{int(DUE.timestamp())}:reminder"
    assert (reminder.staff_user_id, reminder.lead_id) == (team["Ana"].id, team["lead"].id)
    assert db.session.get(StaffTask, team["task"].id).reminded_at == DUE


def test_the_team_lead_is_told_once_when_the_task_is_still_open_hours_later(team):
    sweep(DUE)
    assert sweep(LATE - timedelta(seconds=1)) == NOTHING
    assert sweep(LATE) == {**NOTHING, "escalated": 1}
    assert sweep(LATE + timedelta(hours=1)) == NOTHING

    [escalation] = task_sends("task_escalation")
    assert escalation.staff_user_id == team["Lee"].id
    assert escalation.key == (
        f"task:{team['task'].id}:{int(DUE.timestamp())}:escalation:{team['Lee'].id}"
    )


def test_a_task_moved_to_a_new_time_is_reminded_again_then_and_not_for_its_old_time(team):
    task = db.session.get(StaffTask, team["task"].id)
    assert sweep(DUE) == {**NOTHING, "reminded": 1}
    [old] = task_sends("task_reminder")
    later = DUE + timedelta(days=1)
    service.reschedule_task(task=task, due_at=later, actor=team["Ana"], now=DUE)
    db.session.commit()
    assert task_stop(old) == "task_rescheduled"  # had it not gone yet, it would stop
    assert sweep(later - timedelta(seconds=1)) == NOTHING
    assert sweep(later) == {**NOTHING, "reminded": 1}
    new = next(row for row in task_sends("task_reminder") if row.id != old.id)
    assert new.key.split(":")[2] == str(int(later.timestamp())) and task_stop(new) is None


def test_a_task_found_late_is_reminded_and_escalated_in_one_sweep(team):
    assert sweep(LATE) == {"reminded": 1, "escalated": 1}
    assert len(task_sends("task_reminder")) == len(task_sends("task_escalation")) == 1


def test_without_a_team_lead_the_admins_are_told(ctx):
    ana, root = make_staff("coordinator"), make_staff("admin")
    lead = make_lead(owner_id=ana.id)
    service.create_task(lead=lead, kind="follow_up", due_at=DUE, actor=ana, now=NOW)
    db.session.commit()

    sweep(LATE)

    assert [send.staff_user_id for send in task_sends("task_escalation")] == [root.id]


def test_a_task_done_or_cancelled_is_not_reminded(team):
    service.complete_task(task=team["task"], actor=team["Ana"], now=NOW)
    db.session.commit()
    assert sweep(LATE) == NOTHING
    assert task_sends("task_reminder") == task_sends("task_escalation") == []


def test_a_task_done_after_the_sweep_but_before_the_email_goes_sends_nothing(team):
    sweep(LATE)
    service.complete_task(task=team["task"], actor=team["Ana"], now=LATE)
    db.session.commit()

    for send in task_sends("task_reminder") + task_sends("task_escalation"):
        assert claim(send.id, LATE)
        assert finish_send(send_id=send.id, now=LATE, commit=db.session.commit) == "cancelled"
        assert row(send.id).finished_reason == "task_closed"
    assert db.session.scalars(select(CapturedEmail)).all() == []


def test_two_sweeps_at_once_remind_and_escalate_once(app, team):
    results, errors = at_once(app, lambda: sweep_tasks(now=LATE, escalate_hours=HOURS))

    assert errors == []
    assert sorted(r["reminded"] for r in results) == [0, 1]
    assert sorted(r["escalated"] for r in results) == [0, 1]
    db.session.expire_all()
    assert len(task_sends("task_reminder")) == len(task_sends("task_escalation")) == 1


def test_the_emails_reach_a_real_server_with_a_link_and_the_due_time_and_no_patient_detail(
    ctx, team
):
    sweep(LATE)
    recorder = Recorder()
    with smtp_server(recorder) as server:
        ctx.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        for send in task_sends("task_reminder") + task_sends("task_escalation"):
            assert deliver_row(send.id, LATE) == "sent"

    reminder, escalation = (
        email.message_from_bytes(envelope.content, policy=policy.default)
        for envelope in recorder.envelopes
    )
    assert [e.rcpt_tos for e in recorder.envelopes] == [[team["Ana"].email], [team["Lee"].email]]
    assert reminder["Subject"] == "Reminder: a task on a lead is due"
    assert escalation["Subject"] == "A task on a lead is overdue"
    for message in (reminder, escalation):
        text = message.get_body(("plain",)).get_content()
        assert f"/staff/leads/{team['lead'].id}" in text
        assert "10:00" in text  # due 15:00 UTC: 10:00 in New York, the staff member's zone
        whole = message.as_string().lower()
        for detail in PATIENT:
            assert detail.lower() not in whole, detail
