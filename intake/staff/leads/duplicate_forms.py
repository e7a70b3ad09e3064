"""The forms of the possible-duplicates pages; each checks shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.validators import DataRequired, InputRequired


class PairMergeForm(FlaskForm):
    keep = RadioField(
        "Which lead to keep",
        coerce=int,
        choices=[],
        validators=[InputRequired(message="Choose the lead to keep.")],
    )

    def for_pair(self, first_id: int, second_id: int) -> PairMergeForm:
        self.keep.choices = [
            (first_id, f"Keep lead {first_id}, merge lead {second_id} into it"),
            (second_id, f"Keep lead {second_id}, merge lead {first_id} into it"),
        ]
        return self


class NotSamePersonForm(FlaskForm):
    confirm = BooleanField(
        "These are two different people",
        validators=[DataRequired(message="Tick the box to confirm they are different people.")],
    )


class UndoMergeForm(FlaskForm):
    confirm = BooleanField(
        "Put both leads back as they were before the merge",
        validators=[DataRequired(message="Tick the box to confirm the un-merge.")],
    )
