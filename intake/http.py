"""Security headers and error pages shared by every blueprint."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    SecurityError,
    ServiceUnavailable,
)

from intake.extensions import db

logger = logging.getLogger(__name__)

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


def framed_by(origins) -> str:
    """The CSP of a page that these origins (and only these) may frame; none given, no page
    may, as everywhere else."""
    ancestors = " ".join(origins) or "'none'"
    return CSP.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")


# What each error page says: in the patient's language on patient pages, English for staff.
ERROR_TEXT = {
    400: (_("Something went wrong with that request"), _("Please go back and try again.")),
    404: (_("Page not found"), _("Check the address, or start from the inquiry form.")),
    405: (_("That did not work"), _("Please go back and try again.")),
    410: (
        _("This link has expired"),
        _("Links stop working after a while to keep your answers safe."),
    ),
    413: (
        _("That was too much text to send"),
        _("Please go back, shorten your longest answers and send the form again."),
    ),
    429: (
        _("Too many tries in a short time"),
        _(
            "Please wait a minute, then go back and send the form again. "
            "Your browser's Back button keeps what you typed."
        ),
    ),
    500: (_("Sorry, something went wrong on our side"), _("Please try again in a few minutes.")),
    503: (
        _("We are briefly unavailable"),
        _("Please wait a minute and try again. Your browser's Back button keeps what you typed."),
    ),
}


def register(app: Flask) -> None:
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(Exception, _unexpected_error)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first.
    app.teardown_appcontext(_end_session)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
        headers.setdefault("X-Frame-Options", "DENY")  # a page framed by named origins has none
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure or request.headers.get("X-Forwarded-Proto") == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def _own_renderer(error: Exception):
    """A part of the site that answers its errors in its own format (the REST API's problem
    details) registers ``(path prefix, render)`` in ``app.extensions["intake.error_renderers"]``."""
    for prefix, render in current_app.extensions.get("intake.error_renderers", ()):
        if request.path.startswith(prefix):
            return render(error)
    return None


def render_error(code: int):
    title, advice = ERROR_TEXT.get(code, ERROR_TEXT[500])
    page = render_template("error.html", code=code, title=str(title), advice=str(advice))
    return page, code


def _http_error(error: HTTPException):
    own = _own_renderer(error)
    if own is not None:
        return own
    if error.code is None or error.code < 400:
        return error
    if isinstance(error, SecurityError):  # a Host outside TRUSTED_HOSTS: no page links work
        return "Unknown host.\n", error.code, {"Content-Type": "text/plain; charset=utf-8"}
    response = render_error(error.code)
    if error.code == 405 and getattr(error, "valid_methods", None):
        return (*response, {"Allow": ", ".join(error.valid_methods)})
    return response


RETRY_AFTER_SECONDS = 60  # the 503 page asks for a minute


def _database_unavailable(error: OperationalError):
    logger.warning("database unavailable", extra={"error": type(error.orig).__name__})
    own = _own_renderer(ServiceUnavailable())
    if own is not None:
        own.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return own
    return (*render_error(ServiceUnavailable.code), {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _end_session(_error) -> None:
    """End the request's database session. When the server dropped the connection (a restart)
    after the response was made, the rollback on close fails; there is nothing left to roll
    back, so the patient keeps their response instead of getting a 500."""
    try:
        db.session.remove()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        logger.warning("database connection lost", extra={"error": type(error.orig).__name__})
        db.session.remove()  # the connection is invalidated now; this only lets go of it


def _unexpected_error(error: Exception):
    logger.exception("unhandled error", exc_info=error)
    own = _own_renderer(error)
    if own is not None:
        return own
    return render_error(InternalServerError.code)
