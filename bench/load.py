"""A small loopback load generator and a gunicorn launcher for the HTTP benchmarks.

Load is threads, each with its own keep-alive ``http.client`` connection, each sending requests
back to back until a request count or a time limit is reached, whichever comes first: it always
stops by itself. A thread opens a new connection every ``VISIT`` requests, as a patient's browser
does for one visit: gunicorn keeps a connection with the worker that accepted it, so a handful
of connections held for a whole run can land on one worker and leave the other idle, where the
many patients of real traffic spread over both. Servers run exactly as in production
(``gunicorn -w 2 --threads 4``, as the Dockerfile and ``intake serve`` start it), on a free
loopback port, in their own process group.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.workers.conftest import free_port, stop_process_group

REPO = Path(__file__).resolve().parents[1]
WORKERS, THREADS = 2, 4  # Dockerfile CMD and `intake serve`: --workers 2 --threads 4
VISIT = 10  # requests a connection carries: the four steps of a form, and a few pages
CONFIG = ("--config", "python:intake.api.gunicorn_conf")  # the Dockerfile's and `intake serve`'s

# A request: method, path, body (or None) and headers; ``expect`` says which statuses count.
Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class Load:
    """What one load run did: successes, failures, per-request latencies and wall time."""

    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def drive(
    base_url: str,
    next_request: Callable[[int], Request],
    *,
    threads: int,
    seconds: float,
    max_requests: int,
    ok_statuses: tuple[int, ...] = (200, 302, 303),
    visit: int = VISIT,
) -> Load:
    """Send requests from ``threads`` threads until ``max_requests`` are sent or ``seconds``
    pass, each on a new connection every ``visit`` requests. ``next_request(thread_number)``
    builds each request (it may carry state per thread)."""
    host, port = base_url.removeprefix("http://").split(":")
    load, lock = Load(), threading.Lock()
    budget = [max_requests]
    deadline = time.perf_counter() + seconds

    def take() -> bool:
        with lock:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            return True

    def worker(number: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        latencies, statuses, ok, failed = [], {}, 0, 0
        try:
            while time.perf_counter() < deadline and take():
                if (ok + failed) % visit == 0:
                    connection.close()  # the next request connects again
                method, path, body, headers = next_request(number)
                started = time.perf_counter()
                try:
                    connection.request(method, path, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                    if response.getheader("Connection", "").lower() == "close":
                        connection.close()
                except (OSError, http.client.HTTPException):
                    connection.close()
                    status = 0
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if status in ok_statuses:
                    ok += 1
                else:
                    failed += 1
        finally:
            connection.close()
        with lock:
            load.ok += ok
            load.failed += failed
            load.latencies.extend(latencies)
            for status, count in statuses.items():
                load.statuses[status] = load.statuses.get(status, 0) + count

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 60)
    load.seconds = time.perf_counter() - started
    return load


def _answers(base_url: str, path: str) -> bool:
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status < 500
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def gunicorn(
    app_spec: str,
    *,
    env: dict[str, str] | None = None,
    probe: str = "/",
    log_path: str | None = None,
    workers: int = WORKERS,
    threads: int = THREADS,
    python: str = sys.executable,
    cwd: Path = REPO,
    start_seconds: float = 60,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``gunicorn -w 2 --threads 4 APP`` on a free loopback port; yields (base URL, process).
    With this interpreter it reads the production config (``CONFIG``: the app preloaded in the
    master, objects frozen before each fork), for the project and its floor alike; ``python``
    (another environment's interpreter, for P13's peer) runs gunicorn's defaults in ``cwd``.
    Stopped (SIGTERM, then SIGKILL after 20 s) with its whole process group."""
    port = free_port()
    config = CONFIG if python == sys.executable else ()
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            python,
            "-m",
            "gunicorn",
            *config,
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app_spec,
        ],  # fmt: skip
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while not _answers(base_url, probe):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {app_spec} did not start (log: {log_path})")
            time.sleep(0.2)
        yield base_url, process
    finally:
        if process.poll() is None:
            stop_process_group(process)
        log.close()


def harness_spec(database_url: str, redis_url: str) -> str:
    """gunicorn's APP argument for the project as ``bench.harness.bench_app`` builds it."""
    return f"bench.harness:bench_app({database_url!r}, REDIS_URL={redis_url!r})"


def floor_spec(database_url: str, redis_url: str) -> str:
    return f"bench.floor_app:create_floor_app({database_url!r}, {redis_url!r})"


def stack_floor_spec(database_url: str, redis_url: str) -> str:
    return f"bench.stack_floor_app:create_stack_floor_app({database_url!r}, {redis_url!r})"
