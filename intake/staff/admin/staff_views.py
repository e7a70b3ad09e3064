"""Administration of staff accounts: invite, change role, teams and availability, disable,
reset a lost second factor, lift a sign-in lock."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake import jobs
from intake.accounts.signin import has_second_factor, is_locked
from intake.accounts.staff import (
    StaffAccountError,
    all_teams,
    invite_staff_user,
    request_password_reset,
    resend_invitation,
    reset_second_factor,
    set_active,
    staff_list,
    team_ids,
    unlock,
    update_staff_user,
)
from intake.accounts.tokens import pending_invitations
from intake.extensions import db
from intake.models import StaffUser
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, requires
from intake.staff.auth.forms import ActionForm, InviteForm, StaffEditForm


def _staff(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _invitation_days() -> timedelta:
    return timedelta(days=current_app.config["INTAKE_INVITATION_DAYS"])


@bp.get("/admin/staff")
@requires("admin.staff")
def admin_staff():
    """Everyone with an account: role, teams, whether active, locked or still invited."""
    now = utcnow()
    people = staff_list()
    return render_template(
        "staff/admin/staff_list.html",
        people=people,
        invited=pending_invitations([user.id for user, _ in people], now),
        locked={user.id for user, _ in people if is_locked(user, now)},
    )


@bp.route("/admin/staff/invite", methods=["GET", "POST"])
@requires("admin.staff")
def admin_staff_invite():
    """Invite a new member of staff by email; they choose their own password."""
    form = InviteForm()
    form.set_teams(all_teams())
    if form.validate_on_submit():
        try:
            user = invite_staff_user(
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                team_id=form.team_id(),
                now=utcnow(),
                valid_for=_invitation_days(),
            )
        except StaffAccountError as problem:
            form.email.errors.append(str(problem))
        else:
            audit("staff.invited", target=f"staff:{user.id}", detail={"role": user.role})
            db.session.commit()
            jobs.relay_soon()
            flash(_("Invitation sent."), "info")
            return redirect(url_for("staff.admin_staff"))
    failed = any(field.errors for field in form)
    return render_template("staff/admin/staff_invite.html", form=form), 422 if failed else 200


@bp.route("/admin/staff/<int:user_id>", methods=["GET", "POST"])
@requires("admin.staff")
def admin_staff_edit(user_id: int):
    """Role, teams, capacity, working hours and out of office for one person."""
    user = _staff(user_id)
    form = StaffEditForm()
    form.set_teams(all_teams())
    if not form.is_submitted():
        form.fill(user, team_ids(user.id))
    elif form.validate():
        try:
            changed = update_staff_user(user=user, actor=current_user, changes=form.availability())
        except StaffAccountError as problem:
            form.role.errors.append(str(problem))
        else:
            audit("staff.updated", target=f"staff:{user.id}", detail={"fields": changed})
            db.session.commit()
            flash(_("Saved."), "info")
            return redirect(url_for("staff.admin_staff_edit", user_id=user.id))
    failed = any(field.errors for field in form)
    return render_template(
        "staff/admin/staff_edit.html",
        form=form,
        person=user,
        action_form=ActionForm(),
        enrolled=has_second_factor(user),
        locked=is_locked(user, utcnow()),
    ), 422 if failed else 200


def _act(user_id: int, action: str, change) -> object:
    """Run one account action, audit it, and go back to the person's page."""
    user = _staff(user_id)
    try:
        message = change(user)
    except StaffAccountError as problem:
        flash(str(problem), "error")
        return redirect(url_for("staff.admin_staff_edit", user_id=user.id))
    audit(action, target=f"staff:{user.id}")
    db.session.commit()
    jobs.relay_soon()
    flash(message, "info")
    return redirect(url_for("staff.admin_staff_edit", user_id=user.id))


@bp.post("/admin/staff/<int:user_id>/disable")
@requires("admin.staff")
def admin_staff_disable(user_id: int):
    """Disable an account: its sessions end now and it cannot sign in."""

    def change(user):
        set_active(user=user, actor=current_user, active=False, now=utcnow())
        return _("The account is disabled and signed out everywhere.")

    return _act(user_id, "staff.disabled", change)


@bp.post("/admin/staff/<int:user_id>/enable")
@requires("admin.staff")
def admin_staff_enable(user_id: int):
    """Enable a disabled account again."""

    def change(user):
        set_active(user=user, actor=current_user, active=True, now=utcnow())
        return _("The account is enabled.")

    return _act(user_id, "staff.enabled", change)


@bp.post("/admin/staff/<int:user_id>/second-factor")
@requires("admin.staff")
def admin_staff_reset_factor(user_id: int):
    """Forget a lost authenticator: the person sets up a new one at their next sign-in."""

    def change(user):
        reset_second_factor(user=user, actor=current_user, now=utcnow())
        return _("Second factor reset. They will set up a new authenticator at their next sign-in.")

    return _act(user_id, "staff.second_factor_reset", change)


@bp.post("/admin/staff/<int:user_id>/unlock")
@requires("admin.staff")
def admin_staff_unlock(user_id: int):
    """Lift a sign-in lock before it runs out."""

    def change(user):
        unlock(user=user)
        return _("The account is unlocked.")

    return _act(user_id, "staff.unlocked", change)


@bp.post("/admin/staff/<int:user_id>/invitation")
@requires("admin.staff")
def admin_staff_resend(user_id: int):
    """Send a new invitation link (the old one stops working)."""

    def change(user):
        resend_invitation(user=user, now=utcnow(), valid_for=_invitation_days())
        return _("A new invitation is on its way.")

    return _act(user_id, "staff.invitation_resent", change)


@bp.post("/admin/staff/<int:user_id>/password-reset")
@requires("admin.staff")
def admin_staff_send_reset(user_id: int):
    """Email the person a password reset link."""

    def change(user):
        if not user.active:
            raise StaffAccountError(_("Enable the account first."))
        minutes = current_app.config["INTAKE_PASSWORD_RESET_MINUTES"]
        request_password_reset(email=user.email, now=utcnow(), valid_for=timedelta(minutes=minutes))
        return _("A password reset link is on its way.")

    return _act(user_id, "staff.password_reset_sent", change)
