"""A signed-in person's own account: password, sessions and recovery codes."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from intake.accounts.sessions import token_hash
from intake.accounts.signin import (
    codes_left,
    generate_recovery_codes,
    live_sessions,
    revoke_other_sessions,
)
from intake.accounts.staff import PasswordRejected, StaffAccountError
from intake.accounts.staff import change_password as change_own_password
from intake.extensions import db
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, requires
from intake.staff.auth.forms import ActionForm, ChangePasswordForm
from intake.staff.auth.views import signin_limit


@bp.route("/password", methods=["GET", "POST"])
@requires("account")
@signin_limit
def change_password():
    """Change your own password (required after a one-time password); other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_own_password(
                user=current_user,
                current=form.current_password.data,
                new=form.new_password.data,
                keep_token=current_user.session_token,
                now=utcnow(),
            )
        except StaffAccountError as problem:
            form.current_password.errors.append(str(problem))
            audit("password.changed", outcome="failed", detail={"reason": "wrong_password"})
            db.session.commit()
        except PasswordRejected as problem:
            form.new_password.errors.append(str(problem))
        else:
            audit("password.changed")
            db.session.commit()
            flash(_("Your password has been changed. Your other sessions were signed out."), "info")
            return redirect(url_for("staff.account"))
    failed = any(field.errors for field in form)
    return render_template("staff/auth/change_password.html", form=form), 422 if failed else 200


@bp.get("/account")
@requires("account")
def account():
    """Your details, where you are signed in, and your recovery codes."""
    config = current_app.config
    sessions = live_sessions(
        user_id=current_user.id,
        now=utcnow(),
        idle=timedelta(minutes=config["INTAKE_STAFF_IDLE_MINUTES"]),
        absolute=timedelta(hours=config["INTAKE_STAFF_ABSOLUTE_HOURS"]),
    )
    return render_template(
        "staff/auth/account.html",
        sessions=sessions,
        current_hash=_current_hash(),
        codes_left=codes_left(current_user),
        form=ActionForm(),
    )


def _current_hash() -> str:
    return token_hash(current_user.session_token)


@bp.post("/account/sessions")
@requires("account")
def account_sessions():
    """Sign out everywhere else (a lost laptop, a shared computer)."""
    ended = revoke_other_sessions(
        user_id=current_user.id,
        keep_token=current_user.session_token,
        now=utcnow(),
        reason="signed_out_elsewhere",
    )
    audit("sessions.revoked", detail={"count": ended})
    db.session.commit()
    flash(
        ngettext(
            "Signed out of %(num)s other session.", "Signed out of %(num)s other sessions.", ended
        ),
        "info",
    )
    return redirect(url_for("staff.account"))


@bp.post("/account/recovery-codes")
@requires("account")
def account_recovery_codes():
    """New recovery codes, shown once; the old ones stop working."""
    codes = generate_recovery_codes(user=current_user, now=utcnow())
    audit("recovery_codes.generated", detail={"count": len(codes)})
    db.session.commit()
    return render_template("staff/auth/recovery_codes.html", codes=codes, signing_in=False)
