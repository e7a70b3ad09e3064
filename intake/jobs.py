"""The one place web code hands work to the workers.

Work is written to the outbox in the request's own transaction; this module only nudges a
worker to relay it at once. The nudge happens after the response has gone to the patient, and a
broker that is down or frozen costs at most one short timeout per half minute per process:
the periodic relay catches up either way, so nothing a patient sends ever waits on Redis.
"""

from __future__ import annotations

import logging
import time

from flask import after_this_request, current_app
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)
QUIET_AFTER_FAILURE = 30.0
_quiet_until = 0.0


def _nudge(celery) -> None:
    global _quiet_until
    if time.monotonic() < _quiet_until:
        return
    try:
        celery.send_task("outbox.relay", retry=False)
    except (OperationalError, OSError) as error:
        _quiet_until = time.monotonic() + QUIET_AFTER_FAILURE
        logger.warning(
            "outbox nudge failed; the periodic relay will catch up",
            extra={"error": type(error).__name__},
        )


def relay_soon() -> None:
    """After this response is sent, ask a worker to relay the outbox now."""
    celery = current_app.extensions["celery"]

    @after_this_request
    def _register(response):
        response.call_on_close(lambda: _nudge(celery))
        return response
