"""The lead page and its actions: each action is its own POST route with its own permission,
calls one service, writes exactly one audit row, commits and redirects back to the page.

Bad input re-renders the page (422) with the message beside the field and what was typed kept;
that request's one audit row is the attempted action with outcome ``failed``."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from intake.accounts.permissions import lead_scope
from intake.conversations.templates import DECISION_TEMPLATES
from intake.display import labels
from intake.extensions import db
from intake.ids import parse_id
from intake.leads import merges
from intake.leads import work as lead_work
from intake.leads.pipeline import TransitionError, assign_lead, change_status, label
from intake.models import StaffUser
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import allowed, audit, load_lead, requires
from intake.staff.display import viewer_time, viewer_utc
from intake.staff.leads.consult_forms import CONSULT_FORMS, panel_choices
from intake.staff.leads.lead_forms import (
    AssignForm,
    CallForm,
    DecisionForm,
    DoNotContactForm,
    ErasureForm,
    MergeForm,
    NoteForm,
    StatusForm,
)
from intake.staff.leads.message_forms import MessageForm
from intake.staff.leads.task_forms import TaskForm
from intake.staff.queries.consult_panel import build_consult_panel
from intake.staff.queries.lead_page import build_lead_page
from intake.tasks.service import assignee_choices, lead_open_tasks

# form key → (form class, permission that shows it)
FORMS: dict[str, tuple[type[FlaskForm], str]] = {
    "status": (StatusForm, "leads.work"),
    "call": (CallForm, "leads.work"),
    "note": (NoteForm, "leads.note"),
    "decision": (DecisionForm, "leads.decide"),
    "assign": (AssignForm, "leads.assign"),
    "dnc": (DoNotContactForm, "leads.work"),
    "merge": (MergeForm, "leads.merge"),
    "erasure": (ErasureForm, "leads.erasure"),
    "message": (MessageForm, "leads.message"),
    "task": (TaskForm, "leads.work"),
    **CONSULT_FORMS,
}


def lead_form(key: str, lead, page=None, *, posted: bool = False) -> FlaskForm:
    form_class = FORMS[key][0]
    form = form_class(prefix=key) if posted else form_class(prefix=key, formdata=None)
    if key == "status":
        form.for_status(lead.status)
    if key == "assign":
        form.for_staff(page.active_staff if page else _active_staff())
    if key == "task":  # the lead's owner is the usual one to call back
        form.for_assignees(assignee_choices(lead), lead.owner_id or current_user.id)
    if key == "message":
        form.for_templates()
        if not posted:  # the patient's preferred channel, and a decision's own template
            form.channel.data = "text" if lead.preferred_contact_method == "text" else "email"
            form.template.data = DECISION_TEMPLATES.get(lead.clinical_decision or "", "")
    return form


def _active_staff() -> list[tuple[int, str]]:
    rows = db.session.execute(
        db.select(StaffUser.id, StaffUser.name)
        .where(StaffUser.active.is_(True))
        .order_by(StaffUser.name)
    )
    return [(row.id, row.name) for row in rows]


def render_lead_page(
    lead,
    *,
    action="lead.viewed",
    outcome="ok",
    posted: tuple[str, FlaskForm] = None,
    detail: dict | None = None,
    **shown,
):
    """Build and show the page; this request's one audit row is ``action``. ``shown`` are
    more values for the page (a message's preview)."""
    show_answers = allowed("leads.view_answers")
    definition = current_app.extensions["intake.definition"]
    now = utcnow()
    page = build_lead_page(
        lead=lead,
        scope=lead_scope(current_user),
        show_answers=show_answers,
        questionnaire=definition.questionnaire,
        now=now,
        unmerge_days=current_app.config["INTAKE_UNMERGE_DAYS"],
        ruleset=definition.ruleset,
    )
    forms = {key: lead_form(key, lead, page) for key, (_, perm) in FORMS.items() if allowed(perm)}
    if posted is not None:
        forms[posted[0]] = posted[1]
    # Rendered before the commit, which would expire every loaded row and reload them one by one.
    body = render_template(
        "staff/lead.html",
        page=page,
        lead=lead,
        forms=forms,
        consult=build_consult_panel(
            lead=lead,
            names=page.staff,
            now=now,
            free_times=allowed("leads.work"),
            **panel_choices(),
        ),
        show_answers=show_answers,
        # The names templates used before the local_time and label filters; both give the
        # filters' words, so a template still calling them keeps the one format.
        clinic_time=viewer_time,
        label=label,
        outcome_labels=labels("outcome"),
        call_labels=labels("call"),
        decision_labels=labels("decision"),
        tasks=lead_open_tasks(lead_id=lead.id, now=now),
        **shown,
    )
    detail = {"answers_shown": show_answers, **(detail or {})}
    audit(action, lead_ids=[lead.id], detail=detail, outcome=outcome)
    db.session.commit()
    return body, (422 if outcome == "failed" else 200)


@bp.get("/leads/<int:lead_id>")
@requires("leads.view")
def lead(lead_id: int):
    """Everything about one lead on one page."""
    return render_lead_page(load_lead(lead_id))


def _act(lead_id: int, key: str, action: str, run: Callable, *, field: str):
    """Validate the posted form, run the one service, audit, commit and go back to the page.

    ``run(lead, form)`` returns (lead ids touched, audit detail, flash message)."""
    lead = load_lead(lead_id)
    form = lead_form(key, lead, posted=True)
    if form.validate_on_submit():
        try:
            lead_ids, detail, message = run(lead, form)
        except TransitionError as exc:
            db.session.rollback()
            target = getattr(form, exc.field or field, None) or getattr(form, field)
            target.errors = [*target.errors, str(exc)]
        else:
            audit(action, lead_ids=lead_ids, detail=detail)
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("staff.lead", lead_id=lead_id), code=303)
    return render_lead_page(load_lead(lead_id), action=action, outcome="failed", posted=(key, form))


@bp.post("/leads/<int:lead_id>/status")
@requires("leads.work")
def lead_status(lead_id: int):
    """Move the lead along an allowed transition, with a reason."""

    def run(lead, form):
        before = lead.status
        event = change_status(
            lead=lead, to=form.to.data, reason=form.reason.data, actor=current_user, now=utcnow()
        )
        detail = {"from": before, "to": lead.status, "event_id": event.id}
        return [lead.id], detail, _("Status changed to '%(status)s'.", status=label(lead.status))

    return _act(lead_id, "status", "lead.status_changed", run, field="to")


@bp.post("/leads/<int:lead_id>/notes")
@requires("leads.note")
def lead_note(lead_id: int):
    """Add a note to the lead's timeline."""

    def run(lead, form):
        event = lead_work.add_note(lead=lead, text=form.text.data, actor=current_user, now=utcnow())
        return [lead.id], {"event_id": event.id}, _("Note added.")

    return _act(lead_id, "note", "lead.note_added", run, field="text")


@bp.post("/leads/<int:lead_id>/calls")
@requires("leads.work")
def lead_call(lead_id: int):
    """Log a call and its outcome."""

    def run(lead, form):
        before = lead.status
        event = lead_work.log_call(
            lead=lead,
            outcome=form.outcome.data,
            summary=form.summary.data,
            actor=current_user,
            now=utcnow(),
            call_back_at=viewer_utc(form.call_back_at.data),
        )
        detail = {"outcome": form.outcome.data, "from": before, "to": lead.status}
        return [lead.id], {**detail, "event_id": event.id}, _("Call logged.")

    return _act(lead_id, "call", "lead.call_logged", run, field="outcome")


@bp.post("/leads/<int:lead_id>/decision")
@requires("leads.decide")
def lead_decision(lead_id: int):
    """Record the clinical decision on candidacy, with a note."""

    def run(lead, form):
        event = lead_work.record_decision(
            lead=lead,
            decision=form.decision.data,
            note=form.note.data,
            actor=current_user,
            now=utcnow(),
        )
        detail = {"decision": form.decision.data, "event_id": event.id}
        return [lead.id], detail, _("Decision recorded.")

    return _act(lead_id, "decision", "lead.decision_recorded", run, field="decision")


@bp.post("/leads/<int:lead_id>/owner")
@requires("leads.assign")
def lead_assign(lead_id: int):
    """Give the lead to another active member of staff."""

    def run(lead, form):
        owner = db.session.get(StaffUser, form.owner.data)
        before = lead.owner_id
        event = assign_lead(lead=lead, owner=owner, actor=current_user, now=utcnow())
        detail = {"from": before, "to": owner.id, "event_id": event.id}
        return [lead.id], detail, _("Lead assigned to %(name)s.", name=owner.name)

    return _act(lead_id, "assign", "lead.reassigned", run, field="owner")


@bp.post("/leads/<int:lead_id>/do-not-contact")
@requires("leads.work")
def lead_do_not_contact(lead_id: int):
    """Close the lead at the patient's request and stop every message."""

    def run(lead, form):
        before = lead.status
        event = lead_work.mark_do_not_contact(lead=lead, actor=current_user, now=utcnow())
        detail = {"from": before, "event_id": event.id}
        return [lead.id], detail, _("The lead is closed as do-not-contact.")

    return _act(lead_id, "dnc", "lead.do_not_contact", run, field="confirm")


@bp.post("/leads/<int:lead_id>/merge")
@requires("leads.merge")
def lead_merge(lead_id: int):
    """Merge a possible duplicate into this lead."""

    def run(lead, form):
        duplicate_id = parse_id(form.duplicate_id.data)
        if duplicate_id is None:
            raise TransitionError(_("Choose a possible duplicate to merge."))
        duplicate = load_lead(duplicate_id)
        event = merges.merge_leads(keep=lead, duplicate=duplicate, actor=current_user, now=utcnow())
        detail = {
            "duplicate": duplicate.id,
            "inquiries": event.data["inquiries"],
            "merge_id": event.data["merge_id"],
        }
        message = _("Lead %(id)s merged into this lead.", id=duplicate.id)
        return [lead.id, duplicate.id], detail, message

    return _act(lead_id, "merge", "lead.merged", run, field="duplicate_id")


@bp.post("/leads/<int:lead_id>/erasure")
@requires("leads.erasure")
def lead_erasure(lead_id: int):
    """Record the patient's erasure request for an admin to carry out."""

    def run(lead, form):
        event = lead_work.request_erasure(lead=lead, actor=current_user, now=utcnow())
        return [lead.id], {"event_id": event.id}, _("Erasure request recorded for an admin.")

    return _act(lead_id, "erasure", "lead.erasure_requested", run, field="confirm")
