"""Who is calling: the bearer key, its scope, its rate limit, and one audit row per call.

Views declare the one scope they need with ``@requires_scope``, placed right under the route so
the key is checked before the body or query is read (a caller without a key learns nothing
about the fields). Every request under /api/v1 (refusals, errors and unknown paths included)
writes exactly one audit row after its answer is made; nothing in it names a patient."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from inspect import cleandoc

from flask import abort, current_app, g, request
from flask_smorest import Blueprint
from limits import parse_many
from werkzeug.exceptions import TooManyRequests, UnsupportedMediaType

from intake.accounts.api_keys import find_api_key, touch_api_key
from intake.api.v1.problems import PREFIX
from intake.audit.service import record_audit
from intake.extensions import db, limiter
from intake.models.types import utcnow

SECURITY_SCHEME = "bearer"


def requires_scope(scope: str) -> Callable:
    """Check the key and its scope before the view (and its argument parsing) runs."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            authenticate(scope)
            return view(*args, **kwargs)

        checked.api_scope = scope
        # The docstring's first line is the summary; the rest, and the scope, the description.
        _summary, _, rest = cleandoc(view.__doc__ or "").partition("\n\n")
        description = f"{rest.strip()}\n\nRequires the scope `{scope}`.".strip()
        return Blueprint.doc(security=[{SECURITY_SCHEME: [scope]}], description=description)(
            checked
        )

    return decorate


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    return token.strip() if kind.lower() == "bearer" and token.strip() else None


def authenticate(scope: str) -> None:
    """Set ``g.api_key``, or refuse: 401 without a valid unrevoked key, 403 without the scope,
    429 over the key's rate limit, 415 for a body that is not JSON."""
    token = _bearer()
    key = find_api_key(token) if token else None
    g.api_key = key
    if key is None or key.revoked_at is not None:
        abort(401)
    if scope not in (key.scopes or []):
        abort(403)
    _rate_limit(key.prefix)
    touch_api_key(key, utcnow())
    if _has_body() and request.mimetype != "application/json":
        raise UnsupportedMediaType()


def _has_body() -> bool:
    """A POST, PUT or PATCH that sends a body (an action such as a retry may send none)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return False
    return bool(request.content_length) or "Transfer-Encoding" in request.headers


def _rate_limit(prefix: str) -> None:
    """INTAKE_API_RATE_LIMIT per key (by its public prefix), in the app's limiter storage."""
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    for item in parse_many(current_app.config["INTAKE_API_RATE_LIMIT"]):
        if not strategy.hit(item, "api-key", prefix):
            reset = strategy.get_window_stats(item, "api-key", prefix).reset_time
            wait = max(1, int(reset - utcnow().timestamp()) + 1)
            raise TooManyRequests(retry_after=wait)


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    return "denied" if status in (401, 403, 429) else "failed"


def _action() -> str:
    """``api.<view>``, or ``api.<resource>.<method>`` for a view with several methods."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return "api.unknown"
    if hasattr(view, "view_class"):
        return f"api.{request.endpoint.rsplit('.', 1)[-1]}.{request.method.lower()}"
    return f"api.{view.__name__}"


def audit_call(response):
    """One audit row for every request under /api/v1 but its documents (``g.api_lead_ids``
    names the leads the call touched)."""
    if not request.path.startswith(f"{PREFIX}/") or g.get("api_unaudited"):
        return response
    if response.status_code >= 400:
        db.session.rollback()
    key = g.get("api_key")
    record_audit(
        action=_action(),
        now=utcnow(),
        actor_role="api",
        target=f"api_key:{key.id}" if key is not None else None,
        lead_ids=g.get("api_lead_ids", ()),
        detail={"method": request.method, "status": response.status_code},
        ip=request.remote_addr,
        outcome=_outcome(response.status_code),
    )
    db.session.commit()
    response.headers["Cache-Control"] = "no-store"
    return response
