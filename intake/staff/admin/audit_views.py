"""The audit log viewer (``admin.audit``): filters, pages, CSV export and the chain check.
Reading the log is itself audited."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from intake.audit.service import verify_audit_chain
from intake.extensions import db
from intake.ids import parse_id
from intake.staff import bp
from intake.staff.access import audit, requires
from intake.staff.admin.forms import AuditFilterForm
from intake.staff.display import viewer_zone
from intake.staff.queries.audit_log import AuditFilters, audit_actors, audit_csv_rows, audit_page


def _filter_form() -> tuple[AuditFilterForm, AuditFilters]:
    """The form read from the query string, and the filters it gives (none when invalid)."""
    form = AuditFilterForm(formdata=request.args)
    form.set_actors(audit_actors())
    if not request.args or not form.validate():
        return form, AuditFilters()
    zone = viewer_zone()  # the dates are the reader's days, as the page shows its times

    def start_of(day) -> datetime | None:
        return datetime.combine(day, time.min, tzinfo=zone) if day else None

    return form, AuditFilters(
        actor_id=form.actor.data or None,
        action=form.action.data or None,
        lead_id=form.lead.data,
        outcome=form.outcome.data or None,
        since=start_of(form.date_from.data),
        until=start_of(form.date_to.data + timedelta(days=1)) if form.date_to.data else None,
    )


@bp.get("/admin/audit")
@requires("admin.audit")
def admin_audit():
    """Matching audit rows, newest first, a page at a time."""
    form, filters = _filter_form()
    before = request.args.get("before", type=parse_id)
    rows, next_before = audit_page(filters=filters, before_seq=before)
    audit(
        "audit.viewed",
        lead_ids=[filters.lead_id] if filters.lead_id else [],
        detail={**filters.as_detail(), "before": before},
    )
    db.session.commit()
    filter_args = {key: value for key, value in request.args.items() if key != "before"}
    next_args = {**filter_args, "before": next_before} if next_before else None
    return render_template(
        "staff/admin/audit.html",
        form=form,
        rows=rows,
        next_args=next_args,
        filter_args=filter_args,
    )


def _csv_lines(filters: AuditFilters):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in audit_csv_rows(filters=filters):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


@bp.get("/admin/audit/export.csv")
@requires("admin.audit")
def admin_audit_export():
    """The matching rows as CSV, streamed; the export is recorded before it starts."""
    _form, filters = _filter_form()
    audit(
        "audit.exported",
        lead_ids=[filters.lead_id] if filters.lead_id else [],
        detail=filters.as_detail(),
    )
    db.session.commit()
    return Response(
        stream_with_context(_csv_lines(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


@bp.post("/admin/audit/verify")
@requires("admin.audit")
def admin_audit_verify():
    """Recompute the hash chain and say whether it is intact, or where it first breaks."""
    check = verify_audit_chain()
    audit(
        "audit.verified",
        outcome="ok" if check.intact else "failed",
        detail={"rows": check.rows, "first_broken_seq": check.first_broken_seq},
    )
    db.session.commit()
    if check.intact:
        flash(_("The audit chain is intact (%(rows)s rows checked).", rows=check.rows), "success")
    else:
        broken = _(
            "The audit chain is broken: row %(seq)s does not match what came before it.",
            seq=check.first_broken_seq,
        )
        flash(f"{broken} {_('Rows from there on may have been changed or removed.')}", "error")
    return redirect(url_for("staff.admin_audit"))
