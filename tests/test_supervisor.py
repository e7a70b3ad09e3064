"""``intake serve``'s supervisor: a crashed worker or beat comes back; the web server's end
stops everything. Real child processes, with delays shortened for the test."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from intake.supervisor import Child, Supervisor, restart_delay


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_restart_delay_doubles_up_to_a_ceiling():
    assert [restart_delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_crashing_worker_is_restarted_and_the_web_server_ending_stops_everything(tmp_path):
    starts = tmp_path / "starts"
    crashing = python(f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)")
    web = python("import time; time.sleep(4)")
    steady = python("import time; time.sleep(60)")
    supervisor = Supervisor(
        [
            Child("web", web, restart=False),
            Child("worker", crashing, restart=True),
            Child("beat", steady, restart=True),
        ],
        os.environ,
        poll=0.05,
        grace=5,
    )
    started = time.monotonic()
    code = supervisor.run()

    # Backoff 1 s then 2 s: three starts fit in the web server's 4 s, not more.
    assert starts.read_text() == "xxx"
    assert supervisor.children[1].restarts == 2
    assert code == 0
    assert time.monotonic() - started < 10
    assert all(not child.running for child in supervisor.children)


def test_the_web_server_failing_stops_the_others_with_its_exit_code():
    supervisor = Supervisor(
        [
            Child("web", python("raise SystemExit(7)"), restart=False),
            Child("worker", python("import time; time.sleep(60)"), restart=True),
        ],
        os.environ,
        poll=0.05,
    )
    assert supervisor.run() == 7
    assert supervisor.children[1].process.returncode is not None


def test_sigterm_stops_every_child():
    sleeper = python("import time; time.sleep(60)")
    supervisor = Supervisor(
        [Child("web", sleeper, restart=False), Child("beat", sleeper, restart=True)],
        os.environ,
        poll=0.05,
    )
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    assert supervisor.run() == 0
    assert all(child.process.returncode is not None for child in supervisor.children)


def test_the_worker_and_beat_wait_until_the_first_page_answers_then_running_is_said():
    answers, said = [False, False, True], []
    sleeper = python("import time; time.sleep(60)")
    supervisor = Supervisor(
        [
            Child("web", sleeper, restart=False),
            Child("worker", sleeper, restart=True, after_ready=True),
            Child("beat", sleeper, restart=True, after_ready=True),
        ],
        os.environ,
        probe=lambda: answers.pop(0),
        on_ready=lambda: said.append("running"),
        on_timeout=lambda: said.append("timed out"),
        ready_within=30.0,
    )
    try:
        supervisor.start(now=100.0)
        web, worker, beat = supervisor.children
        assert web.running and worker.process is None and beat.process is None

        assert supervisor.tick(101.0) is None
        assert supervisor.tick(102.0) is None
        assert said == [] and worker.process is None  # the page has not answered yet

        assert supervisor.tick(103.0) is None
        assert said == ["running"] and worker.running and beat.running

        assert supervisor.tick(104.0) is None  # said once; the probe is not asked again
        assert said == ["running"] and answers == []
    finally:
        supervisor.stop()


def test_a_first_page_that_never_answers_is_reported_after_the_wait_and_the_rest_start():
    said = []
    sleeper = python("import time; time.sleep(60)")
    supervisor = Supervisor(
        [
            Child("web", sleeper, restart=False),
            Child("worker", sleeper, restart=True, after_ready=True),
        ],
        os.environ,
        probe=lambda: False,
        on_ready=lambda: said.append("running"),
        on_timeout=lambda: said.append("timed out"),
        ready_within=30.0,
    )
    try:
        supervisor.start(now=0.0)
        supervisor.tick(29.9)
        assert said == [] and supervisor.children[1].process is None
        supervisor.tick(30.0)
        assert said == ["timed out"] and supervisor.children[1].running
    finally:
        supervisor.stop()
