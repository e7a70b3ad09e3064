"""Staff tasks: "My tasks", adding a task on the lead page, and marking one done or cancelled.

A task is reached through its lead: a task whose lead is outside the reader's scope answers an
audited 404, as the lead would. Each request writes exactly one audit row."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from intake.accounts.permissions import lead_scope
from intake.extensions import db
from intake.leads.pipeline import TransitionError
from intake.models import Lead, StaffTask
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, deny, requires
from intake.staff.display import viewer_time, viewer_utc, viewer_zone
from intake.staff.leads.lead_views import _act
from intake.staff.leads.task_forms import TaskCloseForm, TaskMoveForm
from intake.tasks import service as tasks


@bp.get("/tasks")
@requires("leads.work")
def my_tasks():
    """The signed-in member's open tasks, overdue first, then by due time."""
    rows = tasks.my_open_tasks(
        staff_id=current_user.id, scope=lead_scope(current_user), now=utcnow()
    )
    body = render_template("staff/tasks.html", rows=rows)
    audit("tasks.viewed", lead_ids=sorted({row.lead_id for row in rows}))
    db.session.commit()
    return body


@bp.post("/leads/<int:lead_id>/tasks")
@requires("leads.work")
def lead_task(lead_id: int):
    """Add a task on the lead, for a member of staff who may work it."""

    def run(lead, form):
        task = tasks.create_task(
            lead=lead,
            kind=form.kind.data,
            due_at=viewer_utc(form.due.data),
            assignee_id=form.assignee.data,
            note=form.note.data,
            actor=current_user,
            now=utcnow(),
        )
        detail = {"task_id": task.id, "kind": task.kind, "assignee": task.assignee_id}
        return [lead.id], detail, _("Task added, due %(when)s.", when=viewer_time(task.due_at))

    return _act(lead_id, "task", "task.created", run, field="due")


def _load_task(task_id: int) -> StaffTask:
    """The task, if its lead is in the user's scope; otherwise an audited 404."""
    task = db.session.scalar(
        select(StaffTask)
        .join(Lead, Lead.id == StaffTask.lead_id)
        .where(StaffTask.id == task_id, lead_scope(current_user))
    )
    if task is None:
        deny(target=f"task:{task_id}", code=404)
    return task


def _close(task_id: int, action: str, close, message: str):
    task = _load_task(task_id)
    form = TaskCloseForm()
    outcome = "failed"
    if form.validate_on_submit():
        try:
            close(task=task, actor=current_user, now=utcnow())
        except TransitionError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            outcome = "ok"
            flash(message, "success")
    else:
        flash(_("That did not work. Please try again."), "error")
    audit(action, lead_ids=[task.lead_id], detail={"task_id": task.id}, outcome=outcome)
    db.session.commit()
    return _back(form.back.data, task)


def _back(back: str | None, task: StaffTask):
    if back == "lead":
        return redirect(url_for("staff.lead", lead_id=task.lead_id), code=303)
    return redirect(url_for("staff.my_tasks"), code=303)


@bp.post("/tasks/<int:task_id>/done")
@requires("leads.work")
def task_done(task_id: int):
    """Mark the task done; no reminder goes after this."""
    return _close(task_id, "task.done", tasks.complete_task, _("Task done."))


@bp.post("/tasks/<int:task_id>/cancel")
@requires("leads.work")
def task_cancel(task_id: int):
    """Cancel a task no longer needed; no reminder goes after this."""
    return _close(task_id, "task.cancelled", tasks.cancel_task, _("Task cancelled."))


@bp.route("/tasks/<int:task_id>/move", methods=["GET", "POST"])
@requires("leads.work")
def task_move(task_id: int):
    """Move an open task to a new due time: it is reminded again then. A mistake is said
    beside the field, with what was typed kept."""
    task = _load_task(task_id)
    form = TaskMoveForm(back=request.args.get("back"))
    if request.method == "GET":
        form.due.data = task.due_at.astimezone(viewer_zone()).replace(tzinfo=None)
        body = render_template("staff/task_move.html", task=task, form=form)
        audit("task.viewed", lead_ids=[task.lead_id], detail={"task_id": task.id})
        db.session.commit()
        return body
    if form.validate_on_submit():
        try:
            tasks.reschedule_task(
                task=task, due_at=viewer_utc(form.due.data), actor=current_user, now=utcnow()
            )
        except TransitionError as error:
            db.session.rollback()
            form.due.errors = [*form.due.errors, str(error)]
        else:
            audit("task.moved", lead_ids=[task.lead_id], detail={"task_id": task.id})
            db.session.commit()
            flash(_("Task moved to %(when)s.", when=viewer_time(task.due_at)), "success")
            return _back(form.back.data, task)
    body = render_template("staff/task_move.html", task=task, form=form)
    audit("task.moved", lead_ids=[task.lead_id], detail={"task_id": task.id}, outcome="failed")
    db.session.commit()
    return body, 422
