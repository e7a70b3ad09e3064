"""Captured texts (``admin.mail``): the text messages the embedded mode kept instead of sending.
They go to patients and the list shows their words, so every page of it is audited with the
leads whose numbers it shows."""

from __future__ import annotations

from flask import render_template, request

from intake.extensions import db
from intake.ids import parse_id
from intake.staff import bp
from intake.staff.access import audit, requires
from intake.staff.queries.mail import captured_texts_page, leads_for_numbers


@bp.get("/admin/mail/texts")
@requires("admin.mail")
def admin_texts():
    """Texts kept locally instead of sent, newest first, with the leads each went to."""
    before = request.args.get("before", type=parse_id)
    texts, next_before = captured_texts_page(before_id=before)
    leads = leads_for_numbers(text.recipient for text in texts)
    audit(
        "text.listed",
        lead_ids=sorted({lead_id for ids in leads.values() for lead_id in ids}),
        detail={"before": before, "shown": len(texts)},
    )
    db.session.commit()
    return render_template(
        "staff/admin/texts.html", texts=texts, leads=leads, next_before=next_before, before=before
    )
