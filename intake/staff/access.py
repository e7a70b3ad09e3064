"""The staff blueprint's guard: deny by default, then sign-in, then the route's permission.

Views say what they need with ``@requires("leads.work")``; the few pages used before signing
in say ``@public``. Leads outside a user's scope answer 404, so guessing ids reveals nothing;
every refusal is audited."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from intake.accounts.permissions import can, lead_scope
from intake.accounts.sessions import load_session_user
from intake.audit.service import record_audit
from intake.extensions import db, login_manager
from intake.models import Lead, StaffUser
from intake.models.types import utcnow
from intake.staff import bp

View = TypeVar("View", bound=Callable)

# Pages a signed-in user who must change their password may still reach.
_PASSWORD_CHANGE_ALLOWED = {"staff.change_password", "staff.logout", "static"}


def requires(permission: str) -> Callable[[View], View]:
    """Declare the one permission a staff view needs."""

    def mark(view: View) -> View:
        view.staff_permission = permission
        return view

    return mark


def public(view: View) -> View:
    """Declare a staff page reachable before signing in (sign-in, reset, invitation)."""
    view.staff_public = True
    return view


@login_manager.user_loader
def _load_user(token: str) -> StaffUser | None:
    config = current_app.config
    return load_session_user(
        token=token,
        now=utcnow(),
        idle=timedelta(minutes=config["INTAKE_STAFF_IDLE_MINUTES"]),
        absolute=timedelta(hours=config["INTAKE_STAFF_ABSOLUTE_HOURS"]),
    )


@login_manager.unauthorized_handler
def _sign_in_first():
    if session.pop("_user_id", None) is not None:
        flash(_("You were signed out. Please sign in again to carry on."), "info")
    # A form sent after the session ended cannot be replayed: come back to the page it was on.
    back = request.full_path.rstrip("?") if request.method == "GET" else _same_site_referrer()
    return redirect(url_for("staff.login", next=back))


def _same_site_referrer() -> str | None:
    referrer = urlsplit(request.referrer or "")
    return referrer.path if referrer.netloc == request.host and referrer.path else None


@bp.before_request
def _guard():
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "staff_public", False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    permission = getattr(view, "staff_permission", None)
    if permission is None or not can(current_user, permission, current_app.config):
        deny(target=request.endpoint)
    if current_user.must_change_password and request.endpoint not in _PASSWORD_CHANGE_ALLOWED:
        return redirect(url_for("staff.change_password"))
    return None


@bp.errorhandler(CSRFError)
def _form_expired(error: CSRFError):
    """A staff form whose security token expired or is missing: say so, and go back to the
    page it came from (same site only) rather than showing a bare 400."""
    flash(
        _("That form had been open too long to be sent safely. Please check it and send it again."),
        "error",
    )
    return redirect(_same_site_referrer() or url_for("staff.queue"), code=303)


@bp.after_request
def _audit_unaudited_views(response):
    """Every page a signed-in person is shown is audited: a view that recorded nothing more
    specific gets a plain ``page.viewed`` row, so forgetting to audit cannot hide a view."""
    shown = request.method == "GET" and 200 <= response.status_code < 300
    if shown and current_user.is_authenticated and not g.get("staff_audited"):
        audit("page.viewed", target=request.endpoint)
        db.session.commit()
    response.headers["Cache-Control"] = "no-store"
    return response


def audit(
    action: str,
    *,
    lead_ids: Iterable[int] = (),
    target: str | None = None,
    detail: dict | None = None,
    outcome: str = "ok",
    actor: StaffUser | None = None,
) -> None:
    """Record what the signed-in user (or ``actor``) just did; the caller commits."""
    user = actor or (current_user if current_user.is_authenticated else None)
    record_audit(
        action=action,
        now=utcnow(),
        actor_id=user.id if user else None,
        actor_role=user.role if user else None,
        lead_ids=lead_ids,
        target=target,
        detail=detail,
        ip=request.remote_addr,
        outcome=outcome,
    )
    g.staff_audited = True


def deny(*, target: str | None = None, lead_ids: Iterable[int] = (), code: int = 403):
    """Audit the refusal, commit it, and answer ``code``."""
    db.session.rollback()
    audit("access.denied", lead_ids=lead_ids, target=target, outcome="denied")
    db.session.commit()
    abort(code)


def load_lead(lead_id: int) -> Lead:
    """The lead, if it is in the user's scope; otherwise an audited 404."""
    lead = db.session.scalar(select(Lead).where(Lead.id == lead_id, lead_scope(current_user)))
    if lead is None:
        deny(target=f"lead:{lead_id}", code=404)
    return lead


def allowed(permission: str) -> bool:
    """For templates and views: may the signed-in user do this?"""
    return current_user.is_authenticated and can(current_user, permission, current_app.config)


@bp.app_context_processor
def _helpers() -> dict:
    return {"allowed": allowed}
