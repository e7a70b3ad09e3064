"""Forms for consult types and staff hours. They check shape; intake.consults.admin checks
the rest (periods in order and apart, hosts who are active)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional

from intake.consults.admin import DAY_CHANGE_KINDS
from intake.models import CONSULT_KINDS
from intake.staff.admin.forms import MultiCheckboxField
from intake.staff.display import lazy_gettext as _l
from intake.text import clean_line

KIND_LABELS = {"phone": _l("Phone"), "video": _l("Video"), "in_person": _l("In person")}
DAY_CHANGE_LABELS = {
    "off": _l("Day off"),
    "unavailable": _l("Unavailable from–to"),
    "extra": _l("Extra hours"),
}
WEEKDAY_NAMES = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
TIME_HINT = _l('24-hour time, e.g. "09:30".')


class ConsultTypeForm(FlaskForm):
    name = StringField(
        _l("Name"), [DataRequired(_l("Enter a name.")), Length(max=100)], filters=[clean_line]
    )
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(code, KIND_LABELS[code]) for code in CONSULT_KINDS],
    )
    duration_minutes = IntegerField(
        _l("Length in minutes"),
        [
            InputRequired(_l("Enter a length in minutes.")),
            NumberRange(5, 480, _l("Enter a length from 5 to 480 minutes.")),
        ],
        default=30,
    )
    video_url = StringField(
        _l("Video link"),
        [Optional(), URL(message=_l("Enter a full link starting https://")), Length(max=500)],
        filters=[clean_line],
        description=_l("For video consults: the meeting link sent with the booking."),
    )
    location = StringField(
        _l("Location"),
        [Optional(), Length(max=300)],
        filters=[clean_line],
        description=_l("For in-person consults: the address."),
    )
    active = BooleanField(_l("Offered for booking"), default=True)
    host_ids = MultiCheckboxField(_l("Who can hold it"), coerce=int)

    def set_staff(self, staff) -> None:
        self.host_ids.choices = [SelectChoice(user.id, user.name) for user in staff]


class HoursForm(FlaskForm):
    """One line of periods per weekday, "09:00–12:00, 13:00–17:00"."""

    day0 = StringField(WEEKDAY_NAMES[0], filters=[clean_line])
    day1 = StringField(WEEKDAY_NAMES[1], filters=[clean_line])
    day2 = StringField(WEEKDAY_NAMES[2], filters=[clean_line])
    day3 = StringField(WEEKDAY_NAMES[3], filters=[clean_line])
    day4 = StringField(WEEKDAY_NAMES[4], filters=[clean_line])
    day5 = StringField(WEEKDAY_NAMES[5], filters=[clean_line])
    day6 = StringField(WEEKDAY_NAMES[6], filters=[clean_line])

    def days(self):
        return [self[f"day{weekday}"] for weekday in range(7)]


REAL_DATE = _l("Enter a real date, e.g. 2026-03-09.")


class RealDateField(DateField):
    """A date field that says plainly what it wants when the date does not exist."""

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(REAL_DATE)) from None

    def _value(self) -> str:
        # A date input cannot hold a day that does not exist (a browser never sends one): shown
        # empty, with the error beside it, rather than as invalid HTML.
        return "" if self.process_errors else super()._value()


class DayChangeForm(FlaskForm):
    day = RealDateField(_l("Date"), [InputRequired(REAL_DATE)])
    kind = SelectField(
        _l("What changes"),
        choices=[SelectChoice(code, DAY_CHANGE_LABELS[code]) for code in DAY_CHANGE_KINDS],
    )
    start = StringField(_l("From"), filters=[clean_line], description=TIME_HINT)
    end = StringField(_l("To"), filters=[clean_line], description=TIME_HINT)
