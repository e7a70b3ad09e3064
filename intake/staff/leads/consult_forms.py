"""The lead page's consult forms (book, move, cancel, done or no-show) and the viewer's choices
for the list of free times, read from the page's address or the posted form.

The free times are radio buttons drawn from the page's list; a posted time is checked by the
booking service (it may have been taken since), so the forms check shape only."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired

from intake.ids import parse_id
from intake.staff.display import lazy_gettext as _l

# A time is posted as its POSIX seconds: short, exact and the same in every zone.
SLOT_MAX = 2**40


def slot_time(value: str | None) -> datetime | None:
    """The aware UTC time a posted or linked slot value names, or None."""
    if not value or len(value) > 13 or not (value.isascii() and value.isdigit()):
        return None
    if int(value) >= SLOT_MAX:
        return None
    return datetime.fromtimestamp(int(value), UTC)


class _Slot(HiddenField):
    """The chosen time: radios drawn by the template, read back as a time."""


def _slot_field(label):
    return _Slot(label, validators=[InputRequired(message=_l("Choose a free time."))])


class BookConsultForm(FlaskForm):
    type = HiddenField(validators=[InputRequired(message=_l("Choose a kind of consult."))])
    host = HiddenField()
    slot = _slot_field(_l("Free times"))


class MoveConsultForm(FlaskForm):
    host = HiddenField()
    slot = _slot_field(_l("Move to"))


class CancelConsultForm(FlaskForm):
    confirm = BooleanField(
        _l("Cancel this consult (the patient is told)"),
        validators=[DataRequired(message=_l("Tick the box to confirm the cancellation."))],
    )


class OutcomeForm(FlaskForm):
    outcome = RadioField(
        _l("How did the consult go?"),
        choices=[
            SelectChoice("done", _l("Mark done")),
            SelectChoice("no_show", _l("Mark no-show")),
        ],
        validators=[InputRequired(message=_l("Choose whether the consult took place."))],
    )


# form key → (form class, permission that shows it): merged into the lead page's forms.
CONSULT_FORMS: dict[str, tuple[type[FlaskForm], str]] = {
    "consult": (BookConsultForm, "leads.work"),
    "move": (MoveConsultForm, "leads.work"),
    "cancel": (CancelConsultForm, "leads.work"),
    "outcome": (OutcomeForm, "leads.work"),
}


def panel_choices() -> dict:
    """The consult type, host and page of free times the viewer chose (by address or form)."""
    values = request.values
    host = values.get("move-host") or values.get("consult-host")
    return {
        "type_id": parse_id(values.get("consult-type")),
        "host_id": parse_id(host),
        "after": slot_time(values.get("consult-after")),
    }
