"""Forms for signing in, passwords, and the staff accounts an admin manages.

They check shape only (present, long enough, the same twice); the services decide whether a
password or a change is acceptable."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from intake.accounts.staff import MIN_PASSWORD, Availability
from intake.display import labels
from intake.models import ROLES
from intake.staff.display import lazy_gettext as _l
from intake.text import clean_text

MAX_PASSWORD = 1000
ROLE_CHOICES = [SelectChoice(role, labels("role")[role]) for role in ROLES]
DAY_CHOICES = [
    SelectChoice(number, day)
    for number, day in enumerate(
        (
            _l("Monday"),
            _l("Tuesday"),
            _l("Wednesday"),
            _l("Thursday"),
            _l("Friday"),
            _l("Saturday"),
            _l("Sunday"),
        )
    )
]
_HOUR = Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message=_l("Use the 24-hour form, like 09:00."))


def _email_field() -> EmailField:
    return EmailField(
        _l("Email address"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=254, message=_l("That is too long for an email address.")),
        ],
    )


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=MAX_PASSWORD)],
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        filters=[clean_text],
        description=_l(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
        validators=[
            DataRequired(_l("Enter the code from your authenticator app.")),
            Length(max=40, message=_l("That code is too long.")),
        ],
    )


class EnrolForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        filters=[clean_text],
        description=_l("After adding the account, your app shows a 6-digit code. Enter it here."),
        validators=[
            DataRequired(_l("Enter the 6-digit code your app shows.")),
            Length(max=40, message=_l("That code is too long.")),
        ],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(
        _l("New password"),
        description=_l(
            "At least %(count)s characters. A few unrelated words work well.", count=MIN_PASSWORD
        ),
        validators=[
            DataRequired(_l("Choose a new password.")),
            Length(min=MIN_PASSWORD, message=_l("Use at least %(min)d characters.")),
            Length(max=MAX_PASSWORD, message=_l("That password is too long.")),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Type the new password again.")),
            EqualTo("new_password", message=_l("The two passwords are not the same.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=MAX_PASSWORD)],
    )


class ResetRequestForm(FlaskForm):
    email = _email_field()


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Enter their email address.")),
            Length(max=254, message=_l("That is too long for an email address.")),
            Email(
                message=_l("Enter an email address like name@example.org."),
                check_deliverability=False,
            ),
        ],
    )
    name = StringField(
        _l("Name"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter their name.")), Length(max=200)],
    )
    role = SelectField(
        _l("Role"),
        choices=ROLE_CHOICES,
        validators=[InputRequired()],
        render_kw={"required": False},
    )
    team = SelectField(_l("Team"), coerce=str, choices=[], validators=[Optional()])

    def set_teams(self, teams: list[tuple[int, str]]) -> None:
        """Offer these teams (and no team)."""
        self.team.choices = [
            SelectChoice("", _("No team yet")),
            *(SelectChoice(str(team_id), name) for team_id, name in teams),
        ]

    def team_id(self) -> int | None:
        return int(self.team.data) if self.team.data else None


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


class StaffEditForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=ROLE_CHOICES,
        validators=[InputRequired()],
        render_kw={"required": False},
    )
    teams = MultiCheckboxField(_l("Teams"), coerce=int, choices=[])
    capacity = IntegerField(
        _l("Open leads at most"),
        description=_l("Routing stops giving them new leads at this many open leads."),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=0, max=10000, message=_l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    days = MultiCheckboxField(_l("Working days"), coerce=int, choices=DAY_CHOICES)
    start = StringField(
        _l("Starts work at"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter a time like 09:00.")), _HOUR],
    )
    end = StringField(
        _l("Finishes work at"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter a time like 17:00.")), _HOUR],
    )
    time_zone = StringField(
        _l("Time zone"),
        filters=[clean_text],
        description=_l("A name like America/New_York or Europe/London."),
        validators=[DataRequired(_l("Enter a time zone.")), Length(max=64)],
    )
    out_of_office_until = DateField(
        _l("Out of office until"),
        description=_l("Leave empty when they are in. They get new leads again the day after."),
        validators=[Optional()],
    )

    def set_teams(self, teams: list[tuple[int, str]]) -> None:
        """Offer these teams."""
        self.teams.choices = [SelectChoice(team_id, name) for team_id, name in teams]

    def validate_time_zone(self, field) -> None:
        if field.data not in time_zones():
            raise ValidationError(_("Enter a time zone name like America/New_York."))

    def validate_end(self, field) -> None:
        if not self.start.errors and self.start.data and field.data <= self.start.data:
            raise ValidationError(_("The end of the working day must be after its start."))

    def fill(self, user, team_ids: list[int]) -> None:
        """The account's current values, for the first showing of the form."""
        hours = user.working_hours or {}
        self.role.data, self.teams.data, self.capacity.data = user.role, team_ids, user.capacity
        self.days.data = list(hours.get("days", []))
        self.start.data, self.end.data = hours.get("start", "09:00"), hours.get("end", "17:00")
        self.time_zone.data = user.time_zone
        if user.out_of_office_until is not None:
            local = user.out_of_office_until.astimezone(ZoneInfo(user.time_zone))
            self.out_of_office_until.data = (local - timedelta(days=1)).date()

    def availability(self) -> Availability:
        """The form's values as the service takes them."""
        away = None
        if self.out_of_office_until.data is not None:
            next_day = self.out_of_office_until.data + timedelta(days=1)
            away = datetime.combine(next_day, time.min, tzinfo=ZoneInfo(self.time_zone.data))
        return Availability(
            role=self.role.data,
            team_ids=list(self.teams.data or []),
            capacity=self.capacity.data,
            days=list(self.days.data or []),
            start=self.start.data,
            end=self.end.data,
            time_zone=self.time_zone.data,
            out_of_office_until=away,
        )
