"""Possible duplicates: the open pairs a viewer may see, two leads side by side with their
actions (merge, keeping the lead staff choose; "not the same person"), and undoing a merge.
Every page and action writes exactly one audit row naming both leads."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake.accounts.permissions import lead_scope
from intake.extensions import db
from intake.leads.duplicates import PAIRS_SHOWN, compare, open_pairs
from intake.leads.merges import dismiss_pair, merge_leads, unmerge
from intake.leads.pipeline import TransitionError
from intake.models import DuplicatePair, Lead, LeadMerge
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, deny, load_lead, requires
from intake.staff.leads.duplicate_forms import NotSamePersonForm, PairMergeForm, UndoMergeForm


def _load_pair(pair_id: int) -> tuple[DuplicatePair, Lead, Lead]:
    """The pair, if both its leads are in the user's scope; otherwise an audited 404."""
    pair = db.session.get(DuplicatePair, pair_id)
    if pair is None:
        deny(target=f"pair:{pair_id}", code=404)
    return pair, load_lead(pair.lead_id), load_lead(pair.other_id)


@bp.get("/duplicates")
@requires("leads.merge")
def duplicates():
    """Open possible-duplicate pairs among the leads the viewer may see, with their reasons."""
    rows = open_pairs(scope=lead_scope(current_user))
    body = render_template("staff/duplicates.html", rows=rows, shown=PAIRS_SHOWN)
    lead_ids = sorted({lead.id for row in rows for lead in (row.first, row.second)})
    audit("duplicates.viewed", lead_ids=lead_ids, detail={"pairs": len(rows)})
    db.session.commit()
    return body


def _render_pair(pair_id: int, *, action="duplicates.compared", outcome="ok", posted=None):
    """Both leads side by side; this request's one audit row is ``action``."""
    pair, first, second = _load_pair(pair_id)
    forms = {
        "merge": PairMergeForm(prefix="merge", formdata=None).for_pair(first.id, second.id),
        "dismiss": NotSamePersonForm(prefix="dismiss", formdata=None),
        **(posted or {}),
    }
    body = render_template(
        "staff/duplicate_pair.html",
        pair=pair,
        sides=compare(first=first, second=second),
        forms=forms,
    )
    audit(action, lead_ids=[first.id, second.id], detail={"pair": pair.id}, outcome=outcome)
    db.session.commit()
    return body, (422 if outcome == "failed" else 200)


@bp.get("/duplicates/<int:pair_id>")
@requires("leads.merge")
def duplicate_pair(pair_id: int):
    """Two leads that may be one person, side by side, with every contact detail's origin."""
    return _render_pair(pair_id)


def _refused(field, exc: TransitionError) -> None:
    db.session.rollback()
    field.errors = [*field.errors, str(exc)]


@bp.post("/duplicates/<int:pair_id>/merge")
@requires("leads.merge")
def duplicate_merge(pair_id: int):
    """Merge the pair, keeping the lead staff chose."""
    pair, first, second = _load_pair(pair_id)
    form = PairMergeForm(prefix="merge").for_pair(first.id, second.id)
    if form.validate_on_submit():
        keep, duplicate = (first, second) if form.keep.data == first.id else (second, first)
        try:
            event = merge_leads(keep=keep, duplicate=duplicate, actor=current_user, now=utcnow())
        except TransitionError as exc:
            _refused(form.keep, exc)
        else:
            detail = {"pair": pair.id, "kept": keep.id, "merge_id": event.data["merge_id"]}
            audit("lead.merged", lead_ids=[keep.id, duplicate.id], detail=detail)
            db.session.commit()
            flash(_("Lead %(id)s merged into this lead.", id=duplicate.id), "success")
            return redirect(url_for("staff.lead", lead_id=keep.id), code=303)
    return _render_pair(pair_id, action="lead.merged", outcome="failed", posted={"merge": form})


@bp.post("/duplicates/<int:pair_id>/not-same-person")
@requires("leads.merge")
def duplicate_dismiss(pair_id: int):
    """Record that the two leads are different people; the pair is not offered again."""
    pair, first, second = _load_pair(pair_id)
    form = NotSamePersonForm(prefix="dismiss")
    if form.validate_on_submit():
        try:
            dismiss_pair(pair=pair, first=first, second=second, actor=current_user, now=utcnow())
        except TransitionError as exc:
            _refused(form.confirm, exc)
        else:
            audit("duplicate.dismissed", lead_ids=[first.id, second.id], detail={"pair": pair.id})
            db.session.commit()
            flash(
                _(
                    "Leads %(first)s and %(second)s recorded as different people.",
                    first=first.id,
                    second=second.id,
                ),
                "success",
            )
            return redirect(url_for("staff.duplicates"), code=303)
    posted = {"dismiss": form}
    return _render_pair(pair_id, action="duplicate.dismissed", outcome="failed", posted=posted)


@bp.post("/merges/<int:merge_id>/undo")
@requires("leads.merge")
def merge_undo(merge_id: int):
    """Undo a merge within the set time: both leads as they were before it."""
    merge = db.session.get(LeadMerge, merge_id)
    if merge is None:
        deny(target=f"merge:{merge_id}", code=404)
    kept, merged = load_lead(merge.kept_id), load_lead(merge.merged_id)
    lead_ids, form = [kept.id, merged.id], UndoMergeForm(prefix="undo")
    error = _("Tick the box to confirm the un-merge.")
    if form.validate_on_submit():
        try:
            unmerge(merge=merge, kept=kept, merged=merged, actor=current_user, now=utcnow(),
                    days=current_app.config["INTAKE_UNMERGE_DAYS"])  # fmt: skip
        except TransitionError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            audit("lead.unmerged", lead_ids=lead_ids, detail={"merge_id": merge_id})
            db.session.commit()
            flash(_("Merge undone: lead %(id)s is its own lead again.", id=lead_ids[1]), "success")
            return redirect(url_for("staff.lead", lead_id=lead_ids[0]), code=303)
    audit("lead.unmerged", lead_ids=lead_ids, detail={"merge_id": merge_id}, outcome="failed")
    db.session.commit()
    flash(error, "error")
    return redirect(url_for("staff.lead", lead_id=lead_ids[0]), code=303)
