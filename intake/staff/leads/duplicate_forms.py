"""The forms of the possible-duplicates pages; each checks shape only."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.validators import DataRequired, InputRequired

from intake.staff.display import lazy_gettext as _l


class PairMergeForm(FlaskForm):
    keep = RadioField(
        _l("Which lead to keep"),
        coerce=int,
        choices=[],
        validators=[InputRequired(message=_l("Choose the lead to keep."))],
    )

    def for_pair(self, first_id: int, second_id: int) -> PairMergeForm:
        self.keep.choices = [
            (keep, _("Keep lead %(keep)s, merge lead %(merge)s into it", keep=keep, merge=merge))
            for keep, merge in ((first_id, second_id), (second_id, first_id))
        ]
        return self


class NotSamePersonForm(FlaskForm):
    confirm = BooleanField(
        _l("These are two different people"),
        validators=[DataRequired(message=_l("Tick the box to confirm they are different people."))],
    )


class UndoMergeForm(FlaskForm):
    confirm = BooleanField(
        _l("Put both leads back as they were before the merge"),
        validators=[DataRequired(message=_l("Tick the box to confirm the un-merge."))],
    )
