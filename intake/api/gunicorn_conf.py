"""gunicorn settings for the web service: the metrics folder shared by its workers.

Used as ``gunicorn --config python:intake.api.gunicorn_conf`` (the Dockerfile,
docker-compose.yml and ``intake serve``). With ``PROMETHEUS_MULTIPROC_DIR`` set, each worker
writes its request metrics to files there and a scrape of any worker adds them all up
(intake.api.instrument). The folder is emptied when gunicorn starts, so counts from an earlier
run are not added to this one, and a worker's live values are dropped when it exits.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

# Under `intake serve`: how long the web server waits for the database before opening its port
# anyway (the same limit as the serve command's wait for the first page).
DATABASE_WAIT_SECONDS = 120.0


def _metrics_dir() -> Path | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(path) if path else None


def on_starting(server) -> None:
    """Before the port opens (and after ``--preload`` has loaded the app): the database made
    ready, then an empty metrics folder (only its ``*.db`` files are removed, so a folder set by
    mistake loses nothing else)."""
    _wait_for_database()
    folder = _metrics_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def _wait_for_database() -> None:
    """``intake serve`` loads the app in its web server while it migrates the database itself,
    and makes the file ``INTAKE_SERVE_READY_FILE`` names once done: the port opens only then,
    so no request meets a database still being made. Not set (the Dockerfile): no wait."""
    path = os.environ.get("INTAKE_SERVE_READY_FILE")
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    while path and not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def child_exit(server, worker) -> None:
    """A worker has exited: drop its live gauges (its counters stay in the sums)."""
    if _metrics_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
