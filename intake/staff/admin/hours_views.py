"""A staff member's consult hours: weekly periods in their own time zone and day changes.

Admins edit anyone's (``admin.consults``); everyone edits their own from their account
(``account``). Both pages are the same screen over the same services."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake.consults.admin import (
    ConsultInputError,
    DayChangeData,
    Period,
    add_day_change,
    day_changes,
    parse_periods,
    parse_time,
    remove_day_change,
    set_weekly_hours,
    weekly_hours,
)
from intake.display import zone_or
from intake.extensions import db
from intake.models import StaffUser
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, requires
from intake.staff.admin.consult_forms import DAY_CHANGE_LABELS, DayChangeForm, HoursForm
from intake.staff.admin.home_views import audit_page_view
from intake.staff.auth.forms import ActionForm


def _member(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/admin/staff/<int:user_id>/hours", methods=["GET", "POST"])
@requires("admin.consults")
def admin_staff_hours(user_id: int):
    """A staff member's weekly hours and day changes, for an admin to see and replace."""
    user = _member(user_id)
    if request.method == "POST":
        return _save_hours(user, admin=True)
    audit_page_view(staff_user_id=user_id)
    return _page(user, admin=True)


@bp.post("/admin/staff/<int:user_id>/day-changes")
@requires("admin.consults")
def admin_staff_day_change(user_id: int):
    """Add a day change for a staff member."""
    return _add_change(_member(user_id), admin=True)


@bp.post("/admin/staff/<int:user_id>/day-changes/<int:change_id>/remove")
@requires("admin.consults")
def admin_staff_day_change_remove(user_id: int, change_id: int):
    """Remove one of a staff member's day changes."""
    return _remove_change(_member(user_id), change_id, admin=True)


@bp.route("/account/hours", methods=["GET", "POST"])
@requires("account")
def account_hours():
    """Your own weekly hours and day changes, to see and replace."""
    if request.method == "POST":
        return _save_hours(current_user, admin=False)
    return _page(current_user, admin=False)


@bp.post("/account/day-changes")
@requires("account")
def account_day_change():
    """Add one of your own day changes."""
    return _add_change(current_user, admin=False)


@bp.post("/account/day-changes/<int:change_id>/remove")
@requires("account")
def account_day_change_remove(change_id: int):
    """Remove one of your own day changes (someone else's is never touched)."""
    return _remove_change(current_user, change_id, admin=False)


def _back(user: StaffUser, admin: bool) -> str:
    if admin:
        return url_for("staff.admin_staff_hours", user_id=user.id)
    return url_for("staff.account_hours")


def _page(user, *, admin: bool, hours_form=None, change_form=None, status: int = 200):
    if hours_form is None:
        hours_form = HoursForm(formdata=None)
        for weekday, periods in weekly_hours(user.id).items():
            hours_form[f"day{weekday}"].data = ", ".join(map(str, periods))
    zone = zone_or(user.time_zone, current_app.config["INTAKE_CLINIC_TIME_ZONE"])
    changes = day_changes(user.id, since=utcnow().astimezone(zone).date())
    return render_template(
        "staff/admin/hours.html",
        person=user,
        admin=admin,
        zone=zone.key,
        hours_form=hours_form,
        change_form=change_form or DayChangeForm(formdata=None),
        changes=changes,
        change_labels=DAY_CHANGE_LABELS,
        action_form=ActionForm(),
        back=_back(user, admin),
    ), status


def _failed(user, action: str, form, *, admin: bool, **forms):
    audit(
        action, target=f"staff:{user.id}", outcome="failed", detail={"fields": sorted(form.errors)}
    )
    db.session.commit()
    return _page(user, admin=admin, status=422, **forms)


def _save_hours(user, *, admin: bool):
    form = HoursForm()
    hours: dict[int, list[Period]] = {}
    valid = form.validate_on_submit()
    for weekday, field in enumerate(form.days() if valid else ()):
        try:
            hours[weekday] = parse_periods(field.data, field=field.name)
        except ConsultInputError as error:
            field.errors = [*field.errors, error.message]
    if not valid or form.errors:
        return _failed(user, "consults.hours_saved", form, admin=admin, hours_form=form)
    set_weekly_hours(staff_user_id=user.id, hours=hours)
    audit("consults.hours_saved", target=f"staff:{user.id}")
    db.session.commit()
    flash(_("The weekly hours are saved."), "success")
    return redirect(_back(user, admin), code=303)


def _add_change(user, *, admin: bool):
    form = DayChangeForm()
    if form.validate_on_submit():
        start, end = parse_time(form.start.data), parse_time(form.end.data)
        for field, value in ((form.start, start), (form.end, end)):
            if field.data and value is None:
                field.errors = [*field.errors, _('Enter a time such as "09:30".')]
        data = DayChangeData(day=form.day.data, kind=form.kind.data, start=start, end=end)
        if not form.errors and _change_added(form, user, data):
            flash(_("The day change is saved."), "success")
            return redirect(_back(user, admin), code=303)
    return _failed(user, "consults.day_change_added", form, admin=admin, change_form=form)


def _change_added(form: DayChangeForm, user, data: DayChangeData) -> bool:
    try:
        row = add_day_change(staff_user_id=user.id, data=data)
    except ConsultInputError as error:
        db.session.rollback()
        form[error.field].errors = [*form[error.field].errors, error.message]
        return False
    audit("consults.day_change_added", target=f"staff:{user.id}", detail={"id": row.id})
    db.session.commit()
    return True


def _remove_change(user, change_id: int, *, admin: bool):
    if not ActionForm().validate_on_submit():
        abort(400)
    removed = remove_day_change(staff_user_id=user.id, change_id=change_id)
    outcome = "ok" if removed else "failed"
    audit(
        "consults.day_change_removed",
        target=f"staff:{user.id}",
        detail={"id": change_id},
        outcome=outcome,
    )
    db.session.commit()
    flash(
        _("The day change is removed.") if removed else _("That day change was already removed."),
        "success" if removed else "info",
    )
    return redirect(_back(user, admin), code=303)
