"""The process supervisor behind ``intake serve``: web, worker and beat on one machine.

The web server is the service: when it ends, everything stops. A worker or beat that dies
(a crash while the broker restarts, an out-of-memory kill) is started again after a backoff
that doubles up to a ceiling and resets once the process has stayed up for a while.

Start-up is in two steps: the children that serve pages start first; the supervisor asks ``probe``
each tick whether the first page answers, and only then calls ``on_ready`` (``intake serve`` says
it is running there) and starts the rest (worker, beat), so they do not compete with the web
workers for the processor while a new user waits for the first page. If the page has not answered
within ``ready_within`` seconds, ``on_timeout`` is called and the rest start anyway."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass
class Child:
    """One supervised command and the state of its restarts."""

    name: str
    command: Sequence[str]
    restart: bool
    after_ready: bool = False  # started once the first page answers
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0

    def start(self, env: Mapping[str, str]) -> None:
        # Each child leads its own process group: a stop reaches it through the supervisor
        # (and from there its own children) in order, never all at once from the terminal.
        # bandit B603: the command is fixed by `intake serve` (this interpreter, gunicorn,
        # celery) with no shell; nothing from a request or the environment is run.
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603
            list(self.command), env=dict(env), start_new_session=True
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def restart_delay(failures: int, *, base: float = 1.0, ceiling: float = 30.0) -> float:
    """Seconds to wait before the ``failures``-th restart in a row: 1, 2, 4 … up to 30."""
    return min(ceiling, base * 2 ** max(0, failures - 1))


class Supervisor:
    """Starts the children, restarts those allowed to restart, stops all in order."""

    def __init__(
        self,
        children: Sequence[Child],
        env: Mapping[str, str],
        *,
        stable_after: float = 60.0,
        poll: float = 0.5,
        grace: float = 20.0,
        probe: Callable[[], bool] = lambda: True,
        on_ready: Callable[[], None] = lambda: None,
        on_timeout: Callable[[], None] = lambda: None,
        ready_within: float = 120.0,
    ) -> None:
        self.children = list(children)
        self.env = env
        self.stable_after = stable_after
        self.poll = poll
        self.grace = grace
        self.stopping = False
        self.probe, self.on_ready, self.on_timeout = probe, on_ready, on_timeout
        self.ready_within = ready_within
        self.ready_by: float | None = None  # until the first page answers: the time limit

    def run(self) -> int:
        """Supervise until the web server ends, Ctrl+C or SIGTERM; the exit code to use."""
        previous = signal.signal(signal.SIGTERM, self._request_stop)
        if self.ready_by is None and not any(child.process for child in self.children):
            self.start(time.monotonic())
        code = 0
        try:
            while not self.stopping:
                code = self.tick(time.monotonic())
                if code is not None:
                    break
                time.sleep(self.poll)
            code = code or 0
        except KeyboardInterrupt:
            code = 0
        finally:
            self.stop()
            signal.signal(signal.SIGTERM, previous)
        return code

    def start(self, now: float) -> None:
        """Start the children that serve pages; the rest wait for the first page to answer."""
        for child in self.children:
            if not child.after_ready:
                child.start(self.env)
        self.ready_by = now + self.ready_within

    def _request_stop(self, *_args) -> None:
        self.stopping = True

    def _check_ready(self, now: float) -> None:
        """Until the first page answers: ask the probe; then announce and start the rest."""
        if self.ready_by is None:
            return
        if self.probe():
            self.on_ready()
        elif now >= self.ready_by:
            self.on_timeout()
        else:
            return
        self.ready_by = None
        for child in self.children:
            if child.after_ready:
                child.start(self.env)

    def tick(self, now: float) -> int | None:
        """One look at the children at ``now``: restarts due, the first page, an exit code."""
        for child in self.children:
            if child.process is None:  # waiting for the first page
                continue
            if child.running:
                continue
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    child.start(self.env)
                continue
            code = child.process.returncode
            if not child.restart:
                logger.warning("%s exited; stopping", child.name, extra={"code": code})
                return code if code else 0
            if child.restart_at is None:
                self._schedule_restart(child, now, code)
        self._check_ready(now)
        return None

    def _schedule_restart(self, child: Child, now: float, code: int) -> None:
        child.failures = 1 if now - child.started_at >= self.stable_after else child.failures + 1
        delay = restart_delay(child.failures)
        child.restart_at = now + delay
        logger.warning("%s exited; restarting in %.0f s", child.name, delay, extra={"code": code})

    def stop(self) -> None:
        """Ask every running child to stop, then kill whichever outlives the grace period."""
        for child in self.children:
            if child.running:
                child.process.terminate()
        deadline = time.monotonic() + self.grace
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
