"""gunicorn settings for the web service: the app loaded once and shared by its workers, and the
metrics folder they share.

Used as ``gunicorn --config python:intake.api.gunicorn_conf`` (the Dockerfile,
docker-compose.yml and ``intake serve``). The master imports the app (``preload_app``), builds
what the workers would otherwise each build on their first requests (``warm_up``), freezes its
objects out of the garbage collector's reach and forks the workers: they share those memory
pages until they write to them, so a worker's own memory is what its requests add. Nothing the
master does opens a connection or starts a thread (``tests/test_gunicorn_conf.py``); each
worker opens its own database, Redis and SMTP connections and starts jobs' nudge thread.

With ``PROMETHEUS_MULTIPROC_DIR`` set, each worker writes its request metrics to files there and
a scrape of any worker adds them all up (intake.api.instrument). The folder is emptied when
gunicorn starts, so counts from an earlier run are not added to this one, and a worker's live
values are dropped when it exits.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

# Under `intake serve`: how long the web server waits for the database before opening its port
# anyway (the same limit as the serve command's wait for the first page).
DATABASE_WAIT_SECONDS = 120.0
# The app is imported once, in the master, and the workers are forked from it: they share the
# imported modules' memory pages copy-on-write, instead of each importing its own copy.
preload_app = True


def _metrics_dir() -> Path | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(path) if path else None


def on_starting(server) -> None:
    """Before the port opens (the app already loaded, ``preload_app``): the database made
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


def pre_fork(server, worker) -> None:
    """Just before a worker is forked: move every object the master holds (the preloaded app)
    out of the garbage collector's reach, so a collection in a worker never writes to their
    pages and they stay shared (Python's ``gc.freeze`` documentation)."""
    gc.freeze()


def when_ready(server) -> None:
    """The master, once the app is loaded and before the first fork: build what each worker
    would otherwise build for itself on its first requests, so the workers share it."""
    if not server.cfg.preload_app:
        return
    warm_up = getattr(server.app.wsgi(), "extensions", {}).get("intake.warm_up")
    if warm_up is not None:  # intake's app (create_app); another app run with this config has none
        warm_up()
