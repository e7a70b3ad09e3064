"""RFC 9457 problem details: every error under /api/v1 is ``application/problem+json`` with
type, title, status and detail, and ``errors`` (field name -> messages) when fields are wrong."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import marshmallow as ma
from flask import current_app, json
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
PREFIX = "/api/v1"

# What each status means for a caller of this API, when the error itself says nothing better.
DETAILS = {
    400: "The request could not be read.",
    401: "Send a valid, unrevoked API key as 'Authorization: Bearer <key>'.",
    403: "This API key does not have the scope this operation needs.",
    404: "Nothing is here, or it is not visible to this key.",
    405: "This method is not allowed here.",
    409: "Another request with the same Idempotency-Key is still running; retry shortly.",
    413: "The request body is too large.",
    415: "Send the body as application/json.",
    422: "Some fields are not valid: see errors.",
    429: "Too many calls with this key; retry after the time in Retry-After.",
    500: "Something went wrong on our side; the call was not completed.",
    503: "The service is briefly unavailable; retry shortly.",
}


class ProblemSchema(ma.Schema):
    """An error (RFC 9457)."""

    type = ma.fields.String(required=True, metadata={"description": "A URI naming the problem."})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "For 422: each wrong field and what is wrong with it."},
    )


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
):
    """A problem-details response."""
    body = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or DETAILS.get(status, HTTP_STATUS_CODES.get(status, "Error")),
    }
    if errors:
        body["errors"] = {name: list(messages) for name, messages in errors.items()}
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({"json": {"field": [...]}}, nested) as dotted names."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for name, value in messages.items():
            if not prefix and name in ("json", "query", "headers", "form", "view_args"):
                key = ""
            else:
                key = f"{prefix}.{name}" if prefix else str(name)
            for field, texts in flatten_errors(value, key).items():
                flat.setdefault(field, []).extend(texts)
        return flat
    texts = messages if isinstance(messages, list) else [messages]
    for text in texts:
        if isinstance(text, Mapping):
            for field, more in flatten_errors(text, prefix).items():
                flat.setdefault(field, []).extend(more)
        else:
            flat.setdefault(prefix or "body", []).append(str(text))
    return flat


def from_exception(error: BaseException):
    """The problem for any exception raised while answering under /api/v1."""
    if not isinstance(error, HTTPException):
        logger.error("api: unhandled error", extra={"error": type(error).__name__})
        return problem(500)
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="intake"'
    if status == 429:
        headers.setdefault("Retry-After", str(getattr(error, "retry_after", None) or 60))
    errors = data.get("errors") or data.get("messages")
    if status == 422 and errors:
        return problem(422, errors=flatten_errors(errors), headers=headers)
    detail = data.get("message") or DETAILS.get(status)
    return problem(status, detail, headers=headers)
