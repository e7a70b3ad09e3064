"""``Idempotency-Key`` on POSTs: the same key with the same body gets the same answer (never a
second lead); the same key with another body is refused (422); a request arriving while the
first with its key still runs waits for that answer, or gets 409 with Retry-After.

The first request claims the key by inserting its row (unique per API key and idempotency key)
and committing; its work and its stored answer (status and ids only) then commit together, so a
crash leaves either both or a claim that expires. A failed first attempt frees the key.

A secret shown once (a webhook's ``secret``) is never kept: a replay answers without it."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from flask_smorest import Blueprint, abort
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from intake import jobs
from intake.extensions import db
from intake.models import IdempotencyRecord
from intake.models.types import utcnow

HEADER = "Idempotency-Key"
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05
RETRY_AFTER = "1"
SHOWN_ONCE = ("secret",)
PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "Send the same key to retry safely: the answer is the first one's.",
}


def _fingerprint() -> str:
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path} {canonical}".encode()).hexdigest()


def _find(key_id: int, idempotency_key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == key_id,
            IdempotencyRecord.idempotency_key == idempotency_key,
        )
    )


def _replay(record: IdempotencyRecord):
    g.api_lead_ids = [record.body["lead_id"]] if record.body.get("lead_id") else []
    response = current_app.response_class(
        json.dumps(record.body), status=record.status, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(key_id: int, idempotency_key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Our own new row, or None when another request holds the key (read it with ``_find``)."""
    now = utcnow()
    expired = now - timedelta(hours=current_app.config["INTAKE_IDEMPOTENCY_HOURS"])
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == key_id,
            IdempotencyRecord.idempotency_key == idempotency_key,
            IdempotencyRecord.created_at < expired,
        )
    )
    record = IdempotencyRecord(
        api_key_id=key_id, idempotency_key=idempotency_key, fingerprint=fingerprint, created_at=now
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return record


def _settled(key_id: int, idempotency_key: str, fingerprint: str):
    """The answer to a request whose key another request holds."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        db.session.rollback()  # read what is committed now
        record = _find(key_id, idempotency_key)
        if record is not None and record.fingerprint != fingerprint:
            abort(422, errors={HEADER: ["This key was used with a different request body."]})
        if record is not None and record.status is not None:
            return _replay(record)
        if record is None or time.monotonic() > deadline:
            abort(409, headers={"Retry-After": RETRY_AFTER})
        time.sleep(POLL_SECONDS)


def idempotent(view: Callable) -> Callable:
    """Wrap a POST view (under ``requires_scope``): claim, run, keep the answer, commit."""

    @wraps(view)
    def once(*args, **kwargs):
        idempotency_key = request.headers.get(HEADER)
        if idempotency_key is None:
            response = view(*args, **kwargs)
            db.session.commit()
            jobs.relay_soon()
            return response
        if not 0 < len(idempotency_key) <= 200:
            abort(422, errors={HEADER: ["Send 1 to 200 characters."]})
        key_id, fingerprint = g.api_key.id, _fingerprint()
        record = _claim(key_id, idempotency_key, fingerprint)
        if record is None:
            return _settled(key_id, idempotency_key, fingerprint)
        try:
            response = view(*args, **kwargs)
        except BaseException:
            _release(record.id)
            raise
        if response.status_code >= 400:
            _release(record.id)
            return response
        body = {k: v for k, v in response.get_json().items() if k not in SHOWN_ONCE}
        record.status, record.body = response.status_code, body
        db.session.commit()
        jobs.relay_soon()
        return response

    return Blueprint.doc(parameters=[PARAMETER])(once)


def _release(record_id: int) -> None:
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()
