"""The one place web code hands work to the workers.

Work is written to the outbox in the request's own transaction; this module only nudges a
worker to relay it at once. The nudge is posted to one small background thread per web process,
so no request ever waits on the broker: if Redis is down or frozen, only that thread waits (and
then rests), and the periodic relay catches up either way.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

from flask import current_app
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)
REST_AFTER_FAILURE = 30.0
_nudges: queue.SimpleQueue = queue.SimpleQueue()
_started_in: int | None = None
_start_lock = threading.Lock()


def _nudger() -> None:
    while True:
        celery = _nudges.get()
        while not _nudges.empty():  # many nudges waiting are worth one relay
            celery = _nudges.get()
        try:
            celery.send_task("outbox.relay", retry=False)
        except (OperationalError, OSError) as error:
            logger.warning(
                "outbox nudge failed; the periodic relay will catch up",
                extra={"error": type(error).__name__},
            )
            time.sleep(REST_AFTER_FAILURE)


def relay_soon() -> None:
    """Ask a worker to relay the outbox now, without waiting for the broker."""
    global _started_in
    with _start_lock:
        if _started_in != os.getpid():  # after a fork (gunicorn), each process starts its own
            threading.Thread(target=_nudger, name="outbox-nudge", daemon=True).start()
            _started_in = os.getpid()
    _nudges.put(current_app.extensions["celery"])
