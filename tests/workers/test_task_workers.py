"""The task sweep in real worker processes: published twice at once (as two beats would), an
overdue task's assignee is reminded once and the admins are told once, by real email, with a
link to the lead and no patient detail. Real-worker tests read the clock, as the drills do."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from intake.extensions import db
from intake.models import StaffTask
from intake.models.types import utcnow
from tests.factories import make_lead, make_staff
from tests.workers.conftest import publish, sends

pytestmark = pytest.mark.timeout(180)


def test_two_sweeps_remind_and_escalate_an_overdue_task_once_each(
    worker_app, smtp_sink, start_worker
):
    sink, _ = smtp_sink
    with worker_app.app_context():
        ana = make_staff("coordinator", email="ana@clinic.example")
        make_staff("admin", email="root@clinic.example")
        lead = make_lead(owner_id=ana.id)
        db.session.add(StaffTask(lead_id=lead.id, assignee_id=ana.id, kind="call_back",
                                 due_at=utcnow() - timedelta(hours=5), status="open"))  # fmt: skip
        db.session.commit()
        lead_id = lead.id
    start_worker()

    publish(worker_app, "periodic.sweep_tasks")
    publish(worker_app, "periodic.sweep_tasks")

    [reminder] = sink.wait_for(lambda m: m["To"] == "ana@clinic.example")
    [escalation] = sink.wait_for(lambda m: m["To"] == "root@clinic.example")
    time.sleep(2)
    assert len(sink.to("ana@clinic.example")) == len(sink.to("root@clinic.example")) == 1
    for message in (reminder, escalation):
        text = message.get_body(("plain",)).get_content()
        assert f"https://intake.test/staff/leads/{lead_id}" in text
        assert "Byron" not in message.as_string() and "example.org" not in text
    assert len(sends(worker_app, "task_reminder")) == len(sends(worker_app, "task_escalation")) == 1
