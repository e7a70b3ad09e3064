"""gunicorn settings for the web service: the metrics folder shared by its workers.

Used as ``gunicorn --config python:intake.api.gunicorn_conf`` (the Dockerfile,
docker-compose.yml and ``intake serve``). With ``PROMETHEUS_MULTIPROC_DIR`` set, each worker
writes its request metrics to files there and a scrape of any worker adds them all up
(intake.api.instrument). The folder is emptied when gunicorn starts, so counts from an earlier
run are not added to this one, and a worker's live values are dropped when it exits.
"""

from __future__ import annotations

import os
from pathlib import Path


def _metrics_dir() -> Path | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(path) if path else None


def on_starting(server) -> None:
    """Before the first worker: an empty metrics folder (only its ``*.db`` files are removed,
    so a folder set by mistake loses nothing else)."""
    folder = _metrics_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """A worker has exited: drop its live gauges (its counters stay in the sums)."""
    if _metrics_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
