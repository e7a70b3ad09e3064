"""Consult types (``admin.consults``): list, add and edit; a type is made inactive, never
deleted, since consults keep pointing at it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from intake.consults.admin import ConsultInputError, ConsultTypeData, save_consult_type
from intake.extensions import db
from intake.models import ConsultType, ConsultTypeHost, StaffUser
from intake.staff import bp
from intake.staff.access import audit, deny, requires
from intake.staff.admin.consult_forms import KIND_LABELS, ConsultTypeForm
from intake.staff.admin.home_views import audit_page_view


def _types_with_hosts() -> list[tuple[ConsultType, list[str]]]:
    """Every consult type by name with its hosts' names: two queries."""
    types = list(db.session.scalars(select(ConsultType).order_by(func.lower(ConsultType.name))))
    hosts: dict[int, list[str]] = {}
    for type_id, name in db.session.execute(
        select(ConsultTypeHost.consult_type_id, StaffUser.name)
        .join(StaffUser, StaffUser.id == ConsultTypeHost.staff_user_id)
        .order_by(StaffUser.name)
    ):
        hosts.setdefault(type_id, []).append(name)
    return [(row, hosts.get(row.id, [])) for row in types]


@bp.get("/admin/consult-types")
@requires("admin.consults")
def admin_consult_types():
    """Every consult type: kind, length, whether offered, and who holds it."""
    types = _types_with_hosts()
    audit_page_view()
    return render_template("staff/admin/consult_types.html", types=types, kinds=KIND_LABELS)


@bp.route("/admin/consult-types/new", methods=["GET", "POST"], endpoint="admin_consult_type_new")
@bp.route("/admin/consult-types/<int:type_id>", methods=["GET", "POST"])
@requires("admin.consults")
def admin_consult_type(type_id: int | None = None):
    """Add or edit a consult type: name, kind, length, link or place, offered, hosts."""
    consult_type = db.session.get(ConsultType, type_id) if type_id is not None else None
    if type_id is not None and consult_type is None:
        deny(target=f"consult_type:{type_id}", code=404)
    form = ConsultTypeForm(obj=consult_type)
    form.set_staff(
        db.session.scalars(select(StaffUser).where(StaffUser.active).order_by(StaffUser.name))
    )
    if request.method == "GET":
        form.host_ids.data = _host_ids(type_id)
        audit_page_view(consult_type_id=type_id)
    elif form.validate_on_submit() and _saved(form, consult_type):
        flash(_("The consult type is saved."), "success")
        return redirect(url_for("staff.admin_consult_types"))
    else:
        audit(
            "consults.type_saved",
            outcome="failed",
            detail={"id": type_id, "fields": sorted(form.errors)},
        )
        db.session.commit()
    status = 422 if form.errors else 200
    return render_template(
        "staff/admin/consult_type_form.html", form=form, consult_type=consult_type
    ), status


def _host_ids(type_id: int | None) -> list[int]:
    if type_id is None:
        return []
    return list(
        db.session.scalars(
            select(ConsultTypeHost.staff_user_id).where(ConsultTypeHost.consult_type_id == type_id)
        )
    )


def _saved(form: ConsultTypeForm, consult_type: ConsultType | None) -> bool:
    data = ConsultTypeData(
        name=form.name.data,
        kind=form.kind.data,
        duration_minutes=form.duration_minutes.data,
        video_url=form.video_url.data or None,
        location=form.location.data or None,
        active=bool(form.active.data),
        host_ids=tuple(form.host_ids.data or ()),
    )
    try:
        saved = save_consult_type(consult_type=consult_type, data=data)
    except ConsultInputError as error:
        db.session.rollback()
        form[error.field].errors.append(error.message)
        return False
    detail = {"id": saved.id, "created": consult_type is None}
    audit("consults.type_saved", target=f"consult_type:{saved.id}", detail=detail)
    db.session.commit()
    return True
