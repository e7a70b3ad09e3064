"""The task forms: add a task on the lead page, and mark one done or cancelled; shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from intake.display import labels
from intake.models import TASK_KINDS
from intake.staff.display import lazy_gettext as _l
from intake.tasks.service import NOTE_MAX
from intake.text import clean_text


class TaskForm(FlaskForm):
    kind = SelectField(
        _l("Kind of task"),
        choices=[SelectChoice(code, labels("task_kind")[code]) for code in TASK_KINDS],
        validators=[InputRequired(message=_l("Choose what kind of task this is."))],
        render_kw={"required": False},
    )
    due = DateTimeLocalField(
        _l("Due (your time)"),
        validators=[InputRequired(message=_l("Enter the date and time the task is due."))],
    )
    assignee = SelectField(
        _l("For"),
        coerce=int,
        choices=[],
        validate_choice=True,
        validators=[InputRequired(message=_l("Choose a member of staff."))],
        render_kw={"required": False},
    )
    note = TextAreaField(
        _l("Note (optional)"),
        filters=[clean_text],
        validators=[
            Optional(),
            Length(max=NOTE_MAX, message=_l("Keep the note under %(max)d characters.")),
        ],
    )

    def for_assignees(self, choices: list[tuple[int, str]], default: int | None) -> TaskForm:
        """Offer the staff who may take a task on this lead, the lead's owner first chosen."""
        self.assignee.choices = [SelectChoice(str(i), name) for i, name in choices]
        if self.assignee.data is None and default is not None:
            self.assignee.data = default
        return self


class TaskCloseForm(FlaskForm):
    """Done or cancelled: ``back`` says which page to go back to."""

    back = HiddenField(validators=[Optional(), AnyOf(("mine", "lead"))])


class TaskMoveForm(FlaskForm):
    """A new due time for an open task, in the reader's zone; ``back`` as for Done."""

    due = DateTimeLocalField(
        _l("New due time (your time)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],  # shown as the browser's field writes it
        validators=[InputRequired(message=_l("Enter the new date and time the task is due."))],
    )
    back = HiddenField(validators=[Optional(), AnyOf(("mine", "lead"))])
