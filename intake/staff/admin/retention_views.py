"""Retention and erasure (``admin.retention``): the retention period, and erasure requests
waiting for an admin to carry them out."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from intake.extensions import db
from intake.leads.retention import erase_lead, erasure_requests
from intake.models import Lead
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, requires


@bp.get("/admin/retention")
@requires("admin.retention")
def admin_retention():
    """The retention period and the erasure requests not yet carried out."""
    requests = erasure_requests()
    audit("erasure.listed", lead_ids=[lead.id for lead in requests])
    db.session.commit()
    return render_template(
        "staff/admin/retention.html",
        requests=requests,
        retention_days=current_app.config["INTAKE_RETENTION_DAYS"],
    )


@bp.post("/admin/retention/<int:lead_id>/erase")
@requires("admin.retention")
def admin_erase(lead_id: int):
    """Carry out a requested erasure: contact details, answers and notes are removed."""
    confirmed = request.form.get("confirm") == "yes"
    lead = db.session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update())
    requested = lead is not None and lead.erasure_requested_at is not None
    erased = confirmed and requested and erase_lead(lead=lead, actor=current_user, now=utcnow())
    audit(
        "lead.erased",
        lead_ids=[lead_id] if lead is not None else [],
        target=f"lead:{lead_id}",
        detail={"reason": "request", "confirmed": confirmed},
        outcome="ok" if erased else "failed",
    )
    db.session.commit()
    if erased:
        flash(_("Lead %(id)s is erased.", id=lead_id), "success")
    elif not confirmed:
        flash(
            _("Nothing was erased: tick the box to confirm erasing lead %(id)s.", id=lead_id),
            "error",
        )
    else:
        flash(_("Lead %(id)s has no erasure request waiting.", id=lead_id), "error")
    return redirect(url_for("staff.admin_retention"))
