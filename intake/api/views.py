"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from intake.api import bp
from intake.extensions import db
from intake.jobs import outbox_backlog
from intake.models.types import utcnow

logger = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    """The process is up and answering."""
    return jsonify(status="ok")


def _database_ready() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as exc:
        logger.warning("readiness: database unavailable", extra={"error": type(exc).__name__})
        db.session.rollback()
        return False


def _broker_ready(url: str) -> bool:
    import redis  # only with Redis configured: the embedded set-up never loads the client

    try:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        with client:
            return bool(client.ping())
    except redis.RedisError as exc:
        logger.warning("readiness: broker unavailable", extra={"error": type(exc).__name__})
        return False


@bp.get("/readyz")
def readyz():
    """Ready to serve: the database answers, and the broker too when one is configured.

    Also reports the outbox backlog (how many events wait, and the oldest one's age)."""
    checks = {"database": "ok" if _database_ready() else "unavailable"}
    broker_url = current_app.config.get("REDIS_URL")
    if broker_url:
        checks["broker"] = "ok" if _broker_ready(broker_url) else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if checks["database"] == "ok":
        body["outbox"] = outbox_backlog(now=utcnow())
    return jsonify(body), 200 if ready else 503
