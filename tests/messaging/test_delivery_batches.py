"""A delivery task's rows: each claimed, sent and committed on its own, one after another, and
the rows not started handed back once the task's time is up; and how a sweep's due rows are
shared out among tasks."""

from __future__ import annotations

import pytest

from intake import jobs
from intake.extensions import db
from intake.messaging import delivery
from intake.messaging.unsubscribe import suppress_address
from tests.factories import NOW, make_lead
from tests.messaging.conftest import Recorder, smtp_server
from tests.messaging.test_delivery import queue, row


def confirmations(count: int) -> list[int]:
    return [
        queue("confirmation", lead=make_lead(email=f"patient{n}@example.org"), step=0)
        for n in range(count)
    ]


def deliver(send_ids: list[int], time_left) -> tuple[list[str], list[int]]:
    db.session.remove()
    return delivery.deliver_sends(
        send_ids, clock=lambda: NOW, commit=db.session.commit, time_left=time_left
    )


def test_each_row_of_a_task_is_sent_and_recorded_and_one_that_stops_holds_back_none(ctx):
    recorder = Recorder()
    first, stopped, last = confirmations(3)
    suppress_address(email="patient1@example.org", reason="complaint", now=NOW)
    db.session.commit()
    with smtp_server(recorder) as server:
        ctx.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        outcomes, rest = deliver([first, stopped, last], time_left=lambda: True)

    assert (outcomes, rest) == (["sent", "cancelled", "sent"], [])
    assert [row(i).status for i in (first, stopped, last)] == ["sent", "cancelled", "sent"]
    assert sorted(e.rcpt_tos[0] for e in recorder.envelopes) == [
        "patient0@example.org",
        "patient2@example.org",
    ]


def test_a_row_that_raises_is_logged_without_patient_data_and_the_next_goes_on(
    ctx, monkeypatch, caplog
):
    recorder = Recorder()
    first, broken, last = confirmations(3)
    real = delivery.deliver_send

    def failing_on_one(*, send_id, **kwargs):
        if send_id == broken:
            raise RuntimeError("the database went away")
        return real(send_id=send_id, **kwargs)

    monkeypatch.setattr(delivery, "deliver_send", failing_on_one)
    with smtp_server(recorder) as server:
        ctx.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        outcomes, rest = deliver([first, broken, last], time_left=lambda: True)

    assert (outcomes, rest) == (["sent", "failed", "sent"], [])
    assert [row(i).status for i in (first, broken, last)] == ["sent", "scheduled", "sent"]
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert str(broken) in logged.getMessage()
    assert "example.org" not in logged.getMessage()


def test_once_the_time_is_up_the_rows_not_started_are_handed_back_untouched(ctx):
    recorder = Recorder()
    ids = confirmations(4)
    answers = iter([True, False])  # asked before the second row, then the third
    with smtp_server(recorder) as server:
        ctx.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        outcomes, rest = deliver(ids, time_left=lambda: next(answers))

    assert (outcomes, rest) == (["sent", "sent"], ids[2:])
    assert [row(i).status for i in ids] == ["sent", "sent", "scheduled", "scheduled"]
    assert [row(i).attempts for i in ids[2:]] == [0, 0]
    assert len(recorder.envelopes) == 2


def test_a_task_always_takes_its_first_row_however_late(ctx):
    [only] = confirmations(1)
    with smtp_server(Recorder()) as server:
        ctx.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        assert deliver([only], time_left=lambda: False) == (["sent"], [])


@pytest.mark.parametrize(
    ("due", "sizes"),
    [
        (0, []),
        (1, [1]),
        (jobs.EMAIL_SPREAD * 2 - 1, [1] * (jobs.EMAIL_SPREAD * 2 - 1)),  # a handful: one each
        (jobs.EMAIL_SPREAD * 3, [3] * jobs.EMAIL_SPREAD),  # spread over every process
        (500, [jobs.EMAIL_BATCH] * 50),  # a full sweep: the most a task carries
        (45, [5] * 9),
    ],
)
def test_a_sweeps_rows_are_dealt_out_a_few_to_a_task_each_once_the_earliest_first(due, sizes):
    ids = list(range(1000, 1000 + due))  # in the order they fall due
    tasks = jobs.email_deliveries(ids)

    assert [len(task.send_ids) for task in tasks] == sizes
    assert sorted(send_id for task in tasks for send_id in task.send_ids) == ids
    assert [task.send_ids[0] for task in tasks] == ids[: len(tasks)]  # each starts a task
    assert all(list(task.send_ids) == sorted(task.send_ids) for task in tasks)
