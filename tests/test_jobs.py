"""The hand-off to the workers: each event becomes its task by name, the workers register a task
under every name intake.jobs publishes, and intake never imports the workers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from celery import Task

from intake import jobs
from intake.jobs import DeliverEmail, DeliverWebhook, RouteLead, publish, task_for

ROOT = Path(__file__).resolve().parent.parent
TASK_NAMES = {
    "RELAY_OUTBOX": "outbox.relay",
    "ROUTE_LEAD": "routing.route_lead",
    "DELIVER_EMAIL": "email.deliver",
    "SWEEP_SENDS": "periodic.sweep_sends",
    "ROUTE_UNROUTED": "periodic.route_unrouted",
    "ASSIGN_HELD_LEADS": "periodic.assign_held_leads",
    "SWEEP_SLA": "periodic.sweep_sla",
    "SWEEP_TASKS": "periodic.sweep_tasks",
    "STAFF_DIGEST": "periodic.staff_digest",
    "PURGE_RETENTION": "periodic.purge_retention",
    "SWEEP_REPLIES": "periodic.sweep_replies",
    "CHECK_IMPORT": "imports.check",
    "RUN_IMPORT": "imports.run",
    "SWEEP_IMPORTS": "periodic.sweep_imports",
    "DELIVER_WEBHOOK": "webhooks.deliver",
    "SWEEP_WEBHOOKS": "periodic.sweep_webhooks",
}


def test_the_task_names_on_the_wire_are_unchanged():
    constants = {
        name: value
        for name, value in vars(jobs).items()
        if re.fullmatch(r"[A-Z][A-Z_]*", name) and isinstance(value, str)
    }

    assert constants == TASK_NAMES


@pytest.mark.parametrize(
    ("event", "task"),
    [
        (
            RouteLead(lead_id=7, trigger="inquiry.started"),
            ("routing.route_lead", {"lead_id": 7, "trigger": "inquiry.started"}),
        ),
        (
            RouteLead(lead_id=8, trigger="inquiry.completed"),
            ("routing.route_lead", {"lead_id": 8, "trigger": "inquiry.completed"}),
        ),
        (DeliverEmail(send_ids=(42, 43)), ("email.deliver", {"send_ids": (42, 43)})),
        (jobs.CheckImport(job_id=3), ("imports.check", {"job_id": 3})),
        (jobs.RunImport(job_id=3), ("imports.run", {"job_id": 3})),
        (DeliverWebhook(delivery_id=5), ("webhooks.deliver", {"delivery_id": 5})),
    ],
)
def test_each_event_becomes_its_task_with_ids_only(event, task):
    assert task_for(event) == task


def test_publishing_sends_one_task_per_event_in_order(app, monkeypatch):
    sent = []
    celery = app.extensions["celery"]
    monkeypatch.setattr(celery, "send_task", lambda name, kwargs: sent.append((name, kwargs)))
    events = [RouteLead(lead_id=1, trigger="inquiry.started"), DeliverEmail(send_ids=(2,))]

    with app.app_context():
        assert publish(iter(events)) == 2
        assert publish([]) == 0

    assert sent == [task_for(event) for event in events]


def test_the_nudges_of_a_busy_moment_after_a_relay_is_asked_for_become_one_more(app, monkeypatch):
    sent = []
    celery = app.extensions["celery"]
    monkeypatch.setattr(celery, "send_task", lambda name, retry: sent.append(name))
    monkeypatch.setattr(jobs, "GATHER_SECONDS", 1.0)  # room for this test's ten nudges
    with app.app_context():
        jobs.relay_soon()
        _wait_until(lambda: len(sent) == 1)
        for _ in range(10):  # ten requests in the moment after it: one relay more, not ten
            jobs.relay_soon()
            time.sleep(0.02)
        _wait_until(lambda: len(sent) == 2)
        time.sleep(2 * jobs.GATHER_SECONDS)  # no further relay shows up

    assert sent == ["outbox.relay", "outbox.relay"]


def _wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_workers_register_a_task_under_every_name(app):
    import workers.tasks

    with app.app_context():
        registered = {
            task.name for task in vars(workers.tasks).values() if isinstance(task, Task)
        }  # the shared tasks, bound to the app

    assert registered == set(TASK_NAMES.values())


def test_each_task_goes_to_the_queue_for_its_purpose(app):
    router = app.extensions["celery"].amqp.router

    queues = {name: router.route({}, name)["queue"].name for name in TASK_NAMES.values()}

    assert queues == {
        "outbox.relay": "periodic",
        "routing.route_lead": "routing",
        "email.deliver": "email",
        # Lead import: long tasks, on the default queue, away from mail and routing.
        "imports.check": "default",
        "imports.run": "default",
        "webhooks.deliver": "default",  # consumed by `intake worker` and the compose worker
        **{name: "periodic" for name in TASK_NAMES.values() if name.startswith("periodic.")},
    }


def test_intake_never_imports_the_workers():
    importing = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "intake").rglob("*.py")
        if re.search(r"^\s*(from|import)\s+workers\b", path.read_text(), re.MULTILINE)
    ]

    assert importing == []
