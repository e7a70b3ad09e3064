"""Structured JSON logs that carry ids, never answers, contact details or link tokens."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

logger = logging.getLogger(__name__)

# Secret-bearing path segments (resume, unsubscribe and consult booking links, staff invitations
# and password resets, staff calendar feeds) are masked wherever a URL is logged. A token is one
# segment (none holds a slash), so what follows it stays readable: /consult/<token>/cancel.
_TOKEN_PATH = re.compile(r"/(resume|unsubscribe|consult|invitation|reset|feed)/[^\s\"?/]+")


class MaskTokens(logging.Filter):
    """Blank out link tokens in any record, including the web servers' access logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "/" in record.msg:
            record.msg = _TOKEN_PATH.sub(r"/\1/<token>", record.msg)
        if isinstance(record.args, dict):
            # In place: gunicorn's access log passes its own mapping type (missing keys read "-").
            for key, value in record.args.items():
                record.args[key] = _mask(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(_mask(arg) for arg in record.args)
        return True


def _mask(value):
    return _TOKEN_PATH.sub(r"/\1/<token>", value) if isinstance(value, str) else value


# gunicorn's own loggers do not pass records up to the root logger, so they are masked apart:
# the access log (request line, referrer, headers) and the error log ("Error handling request").
GUNICORN_LOGGERS = ("gunicorn.access", "gunicorn.error")
# Libraries that log what passes over the wire at DEBUG: IMAPClient logs every line the reply
# mailbox sends, a patient's whole email among them. Never below INFO, whatever LOG_LEVEL says.
WIRE_LOGGERS = ("imapclient",)


def configure(app: Flask) -> None:
    """One JSON handler on the root logger, and a request log keyed by endpoint, not path;
    link tokens masked there and in gunicorn's access and error logs."""
    for name in GUNICORN_LOGGERS:
        own = logging.getLogger(name)
        if not any(isinstance(f, MaskTokens) for f in own.filters):
            own.addFilter(MaskTokens())
    root = logging.getLogger()
    if not any(getattr(h, "_intake", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler.addFilter(MaskTokens())
        handler._intake = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    for name in WIRE_LOGGERS:
        wire = logging.getLogger(name)
        wire.setLevel(max(wire.level, logging.INFO))
    app.before_request(_start_request)
    app.after_request(_log_request)


def _start_request() -> None:
    g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
    g.started = time.perf_counter()
    g.log_ids = {}


def _log_request(response):
    logger.info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            "endpoint": request.endpoint,
            "status": response.status_code,
            "duration_ms": round(
                (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1
            ),
            **g.get("log_ids", {}),
        },
    )
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def add_ids(**ids: int | str) -> None:
    """Attach record ids (never content) to this request's log line."""
    g.setdefault("log_ids", {}).update(ids)
