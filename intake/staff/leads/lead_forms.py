"""The small forms on the lead page, one per action; each checks shape only.

Every form has its own prefix, so several can sit on one page with distinct field ids."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from intake.display import LABELS, LazyText, labels
from intake.leads.pipeline import REASON_MAX, allowed_targets, label
from intake.leads.work import TEXT_MAX
from intake.models import CALL_OUTCOMES, CLINICAL_DECISIONS
from intake.staff.display import lazy_gettext as _l
from intake.text import clean_text


def _capitalised(text: str) -> str:
    """A call outcome as a choice: "Left a voicemail" (the timeline says "left a voicemail")."""
    return _(text).capitalize()


class StatusForm(FlaskForm):
    to = SelectField(
        _l("New status"),
        validators=[InputRequired(message=_l("Choose the new status."))],
        choices=[],
    )
    reason = TextAreaField(
        _l("Reason (required when closing the lead)"),
        filters=[clean_text],
        validators=[
            Optional(),
            Length(max=REASON_MAX, message=_l("Keep the reason under %(max)d characters.")),
        ],
    )

    def for_status(self, status: str) -> StatusForm:
        """Offer only the moves allowed from ``status``."""
        self.to.choices = [SelectChoice("", _("Choose…"))] + [
            SelectChoice(s, label(s)) for s in allowed_targets(status)
        ]
        return self


class NoteForm(FlaskForm):
    text = TextAreaField(
        _l("Note"),
        filters=[clean_text],
        validators=[
            DataRequired(message=_l("Write the note before saving it.")),
            Length(max=TEXT_MAX, message=_l("Keep the note under %(max)d characters.")),
        ],
    )


class CallForm(FlaskForm):
    outcome = RadioField(
        _l("How did the call go?"),
        choices=[
            SelectChoice(code, LazyText(_capitalised, LABELS["call"][code]))
            for code in CALL_OUTCOMES
        ],
        validators=[InputRequired(message=_l("Choose how the call went."))],
    )
    summary = TextAreaField(
        _l("Summary (optional)"),
        filters=[clean_text],
        validators=[
            Optional(),
            Length(max=TEXT_MAX, message=_l("Keep the summary under %(max)d characters.")),
        ],
    )
    # Required for "call back requested" (the service says so beside this field).
    call_back_at = DateTimeLocalField(
        _l("Call back at (needed when the patient asked for a call back)"),
        validators=[Optional()],
    )


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice(code, labels("decision")[code]) for code in CLINICAL_DECISIONS],
        validators=[InputRequired(message=_l("Choose a decision."))],
    )
    note = TextAreaField(
        _l("Note explaining the decision"),
        filters=[clean_text],
        validators=[
            DataRequired(message=_l("Write a note explaining the decision.")),
            Length(max=TEXT_MAX, message=_l("Keep the note under %(max)d characters.")),
        ],
    )


class AssignForm(FlaskForm):
    owner = SelectField(
        _l("Assign to"),
        coerce=int,
        choices=[],
        validate_choice=True,
        validators=[InputRequired(message=_l("Choose a member of staff."))],
        render_kw={"required": False},  # one is always chosen; HTML forbids it on such a list
    )

    def for_staff(self, active: list[tuple[int, str]]) -> AssignForm:
        self.owner.choices = [SelectChoice(str(staff_id), name) for staff_id, name in active]
        return self


class DoNotContactForm(FlaskForm):
    confirm = BooleanField(
        _l("The patient asked us not to contact them again"),
        validators=[DataRequired(message=_l("Tick the box to confirm the patient's request."))],
    )


class MergeForm(FlaskForm):
    duplicate_id = HiddenField(validators=[InputRequired()])


class ErasureForm(FlaskForm):
    confirm = BooleanField(
        _l("The patient asked for their details to be erased"),
        validators=[DataRequired(message=_l("Tick the box to confirm the patient's request."))],
    )
