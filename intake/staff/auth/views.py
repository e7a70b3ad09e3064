"""Signing in (password, then a code or enrolment of an authenticator), signing out, and
setting a password from an emailed invitation or reset link.

Between the password and the code, the browser's session holds only the account id, the time
and the stage, for five minutes. The real, server-side session starts only after the second
factor, with a fresh cookie. Every refusal says the same thing, whatever the reason."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from intake import jobs
from intake.accounts.sessions import open_session, revoke_session
from intake.accounts.signin import (
    Attempt,
    Lockout,
    check_code,
    check_password,
    confirm_totp_enrolment,
    generate_recovery_codes,
    grouped,
    has_second_factor,
    open_totp_secret,
    record_success,
    start_totp_enrolment,
    totp_qr_data_uri,
)
from intake.accounts.staff import PasswordRejected, request_password_reset, set_password_from_link
from intake.accounts.tokens import find_staff_token, use_staff_token
from intake.extensions import db, limiter
from intake.formats import initial_capital
from intake.models import StaffUser
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, public
from intake.staff.auth.forms import (
    ActionForm,
    CodeForm,
    EnrolForm,
    LoginForm,
    NewPasswordForm,
    ResetRequestForm,
)
from intake.staff.display import lazy_gettext as _l

NOT_RECOGNISED = _l("That email, password or code was not recognised. Please check and try again.")
_PENDING = "staff_signin"
PENDING_FOR = timedelta(minutes=5)

# Per client address, across every sign-in step; read at request time so tests can tune it.
signin_limit = limiter.shared_limit(
    lambda: current_app.config["INTAKE_SIGNIN_RATE_LIMIT"], scope="staff-signin", methods=["POST"]
)


def _lockout() -> Lockout:
    config = current_app.config
    return Lockout(
        after=config["INTAKE_SIGNIN_LOCK_AFTER"],
        duration=timedelta(minutes=config["INTAKE_SIGNIN_LOCK_MINUTES"]),
    )


def safe_next(target: str | None) -> str | None:
    """A same-site path to go to after signing in, or None for anything else."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith(url_for("staff.login")):
        return None
    return target


def _next() -> str | None:
    return safe_next(request.args.get("next"))


def _start_pending(user: StaffUser, stage: str, now) -> None:
    session[_PENDING] = {"id": user.id, "at": now.timestamp(), "stage": stage}


def _pending() -> StaffUser | None:
    """The account part-way through signing in at this page's stage, if still in time."""
    state = session.get(_PENDING)
    if not isinstance(state, dict) or not isinstance(state.get("id"), int):
        return None
    at = state.get("at")
    age = utcnow().timestamp() - at if isinstance(at, (int, float)) else -1
    if not 0 <= age <= PENDING_FOR.total_seconds() or state.get("stage") != request.endpoint:
        return None
    user = db.session.get(StaffUser, state["id"])
    if user is None or not user.active or _signed_in_since(user, at):
        return None
    return user


def _signed_in_since(user: StaffUser, at: float) -> bool:
    """A sign-in completed after this state began: the state was used up (or replayed)."""
    return user.last_sign_in_at is not None and user.last_sign_in_at.timestamp() >= at


def _start_again():
    session.pop(_PENDING, None)
    flash(_("Please sign in again: that took longer than five minutes."), "info")
    return redirect(url_for("staff.login", next=_next()))


def _refused(attempt: Attempt, stage: str) -> None:
    """Audit and commit a refusal (the failure count must stick)."""
    action = "signin.locked" if attempt.locked_now else "signin.failed"
    detail = {"stage": stage, "reason": attempt.reason}
    audit(action, detail=detail, outcome="failed", actor=attempt.user)
    db.session.commit()


def _complete_sign_in(user: StaffUser, now) -> None:
    """A new server-side session and a new cookie; the one from before is worth nothing."""
    previous = session.get("_user_id")
    if isinstance(previous, str):
        revoke_session(token=previous, now=now, reason="replaced")
    session.clear()
    record_success(user=user)
    open_session(user=user, now=now, ip=request.remote_addr, user_agent=request.user_agent.string)
    login_user(user)


def _signed_in():
    return redirect(_next() or url_for("staff.queue"))


def _page(template: str, form, error: str | None = None, **context):
    failed = error is not None or any(field.errors for field in form)
    return render_template(template, form=form, error=error, **context), 422 if failed else 200


@bp.route("/login", methods=["GET", "POST"])
@public
@signin_limit
def login():
    """Sign in, step 1: email address and password."""
    if current_user.is_authenticated:
        return _signed_in()
    form = LoginForm()
    if not form.validate_on_submit():
        return _page("staff/auth/login.html", form)
    now = utcnow()
    attempt = check_password(
        email=form.email.data, password=form.password.data, now=now, lockout=_lockout()
    )
    if not attempt.ok:
        _refused(attempt, "password")
        return _page("staff/auth/login.html", form, NOT_RECOGNISED)
    if has_second_factor(attempt.user):
        _start_pending(attempt.user, "staff.login_code", now)
    else:
        start_totp_enrolment(user=attempt.user)
        _start_pending(attempt.user, "staff.login_enrol", now)
    db.session.commit()  # a new secret to enrol, or an upgraded password hash
    endpoint = session[_PENDING]["stage"]
    return redirect(url_for(endpoint, next=_next()))


@bp.route("/login/code", methods=["GET", "POST"])
@public
@signin_limit
def login_code():
    """Sign in, step 2: a code from the authenticator app, or a recovery code."""
    user = _pending()
    if user is None:
        return _start_again()
    form = CodeForm()
    if not form.validate_on_submit():
        return _page("staff/auth/code.html", form)
    now = utcnow()
    attempt = check_code(user=user, code=form.code.data, now=now, lockout=_lockout())
    if not attempt.ok:
        _refused(attempt, "code")
        return _page("staff/auth/code.html", form, NOT_RECOGNISED)
    _complete_sign_in(user, now)
    if attempt.method == "recovery_code":
        audit("recovery_code.used", detail={"codes_left": attempt.codes_left}, actor=user)
        flash(_("You used a recovery code; %(left)s left.", left=attempt.codes_left), "info")
    else:
        audit("signin.succeeded", detail={"method": attempt.method}, actor=user)
    db.session.commit()
    return _signed_in()


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
@signin_limit
def login_enrol():
    """Sign in the first time: add an authenticator app by its QR code, confirm with a code."""
    user = _pending()
    if user is None or has_second_factor(user) or open_totp_secret(user) is None:
        return _start_again()
    form, error = EnrolForm(), None
    if form.validate_on_submit():
        now = utcnow()
        attempt = confirm_totp_enrolment(
            user=user, code=form.code.data, now=now, lockout=_lockout()
        )
        if attempt.ok:
            return _enrolled(user, now)
        _refused(attempt, "enrol")
        error = NOT_RECOGNISED
    secret = open_totp_secret(user)
    issuer = initial_capital(current_app.config["INTAKE_CLINIC_NAME"])
    qr = totp_qr_data_uri(secret=secret, account=user.email, issuer=issuer)
    return _page("staff/auth/enrol.html", form, error, qr=qr, secret=grouped(secret), issuer=issuer)


def _enrolled(user: StaffUser, now):
    codes = generate_recovery_codes(user=user, now=now)
    _start_pending(user, "staff.login_finish", now)
    audit("totp.enrolled", detail={"recovery_codes": len(codes)}, actor=user)
    db.session.commit()
    return render_template(
        "staff/auth/recovery_codes.html", codes=codes, form=ActionForm(), signing_in=True
    )


@bp.post("/login/finish")
@public
@signin_limit
def login_finish():
    """Sign in the first time, last step: after the recovery codes were shown."""
    user = _pending()
    if user is None or not has_second_factor(user):
        return _start_again()
    _complete_sign_in(user, utcnow())
    audit("signin.succeeded", detail={"method": "enrolment"}, actor=user)
    db.session.commit()
    return _signed_in()


@bp.post("/logout")
@public
def logout():
    """Sign out: the server-side session ends, whatever happens to the cookie."""
    token = session.get("_user_id")
    user = current_user if current_user.is_authenticated else None
    if isinstance(token, str):
        revoke_session(token=token, now=utcnow(), reason="logout")
    if user is not None:
        audit("signout", actor=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("staff.login"))


@bp.route("/reset", methods=["GET", "POST"])
@public
@signin_limit
def reset_request():
    """Forgotten password: email a reset link, saying the same whether the account exists."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return _page("staff/auth/reset_request.html", form)
    minutes = current_app.config["INTAKE_PASSWORD_RESET_MINUTES"]
    user = request_password_reset(
        email=form.email.data, now=utcnow(), valid_for=timedelta(minutes=minutes)
    )
    target = f"staff:{user.id}" if user is not None else None
    audit("password.reset_requested", target=target, detail={"known": user is not None})
    db.session.commit()
    jobs.relay_soon()
    return render_template("staff/auth/reset_sent.html", minutes=minutes)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
@signin_limit
def reset_password(token: str):
    """Choose a new password from a reset link."""
    return _password_from_link(token, purpose="password_reset", action="password.reset")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
@signin_limit
def accept_invitation(token: str):
    """Choose a first password from an invitation link."""
    return _password_from_link(token, purpose="invitation", action="invitation.accepted")


def _password_from_link(token: str, *, purpose: str, action: str):
    now = utcnow()
    row = find_staff_token(token=token, purpose=purpose, now=now)
    if row is None:
        return render_template("staff/auth/link_expired.html", purpose=purpose), 404
    user = db.session.get(StaffUser, row.user_id)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password_from_link(user=user, password=form.new_password.data, now=now)
        except PasswordRejected as problem:
            form.new_password.errors.append(str(problem))
        else:
            if not use_staff_token(row=row, now=now):  # another request used it first
                db.session.rollback()
                return render_template("staff/auth/link_expired.html", purpose=purpose), 404
            audit(action, actor=user)
            db.session.commit()
            session.pop(_PENDING, None)
            flash(_("Your password is set. Sign in with it now."), "info")
            return redirect(url_for("staff.login"))
    return _page("staff/auth/set_password.html", form, purpose=purpose, user=user)
