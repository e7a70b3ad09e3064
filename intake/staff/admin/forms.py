"""Administration forms. They check shape; the services check what needs the database."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from intake.audit.service import OUTCOMES as AUDIT_OUTCOMES
from intake.display import LABELS, labels
from intake.ids import MAX_ID
from intake.models import API_SCOPES, OFF_HOURS, STRATEGIES
from intake.questionnaire.definition import OUTCOMES
from intake.routing.choice import ROUTABLE_FIELDS
from intake.staff.display import lazy_gettext as _l
from intake.text import clean_line, clean_text

STRATEGY_LABELS = labels("strategy")
OFF_HOURS_LABELS = labels("off_hours")


def _role(code: str) -> str:
    return _(LABELS["role"].get(code, code)).lower()


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TeamForm(FlaskForm):
    name = StringField(
        _l("Team name"), [DataRequired(_l("Enter a name.")), Length(max=100)], filters=[clean_line]
    )
    strategy = SelectField(
        _l("How leads are shared"),
        choices=[SelectChoice(code, STRATEGY_LABELS[code]) for code in STRATEGIES],
        validators=[DataRequired()],
    )
    off_hours = SelectField(
        _l("A lead that arrives outside every member's hours"),
        choices=[SelectChoice(code, OFF_HOURS_LABELS[code]) for code in OFF_HOURS],
        validators=[DataRequired()],
        default="next_on_shift",
        description=_l(
            "Either way the team has the lead at once, and its first-contact time "
            "counts from the clinic's next business hours."
        ),
    )
    lead_staff_id = SelectField(_l("Team lead"), coerce=int, validate_choice=True)
    member_ids = MultiCheckboxField(_l("Members"), coerce=int)

    def set_staff(self, staff) -> None:
        people = [SelectChoice(user.id, f"{user.name} ({_role(user.role)})") for user in staff]
        self.lead_staff_id.choices = [SelectChoice(0, _("No team lead")), *people]
        self.member_ids.choices = people


_HINTS = {
    "country": _l("Two-letter codes, separated by commas, e.g. US, CA."),
    "region": _l("As the patient chose them, e.g. Florida, Georgia."),
    "eligibility_outcome": _l("Any of: %(codes)s.", codes=", ".join(OUTCOMES)),
    "ms_type": _l("Any of the questionnaire's codes, e.g. RRMS, SPMS."),
    "utm_campaign": _l("Separated by commas."),
    "source": _l("The answer codes, e.g. article, search."),
}
CONDITION_LABELS = {name: (labels("routing_field")[name], hint) for name, hint in _HINTS.items()}


def split_values(text: str | None) -> list[str]:
    return [value.strip() for value in (text or "").split(",") if value.strip()]


class RuleForm(FlaskForm):
    name = StringField(
        _l("Rule name"), [DataRequired(_l("Enter a name.")), Length(max=100)], filters=[clean_line]
    )
    priority = IntegerField(
        _l("Priority"),
        [
            InputRequired(_l("Enter a whole number, lowest first.")),
            NumberRange(0, 100000, _l("Enter a whole number from %(min)s to %(max)s.")),
        ],
        description=_l("Rules are tried from the lowest number up; the first that matches wins."),
    )
    team_id = SelectField(_l("Team"), coerce=int)
    active = BooleanField(_l("Active"))

    def conditions(self) -> dict[str, list[str]]:
        return {field: split_values(self[f"cond_{field}"].data) for field in ROUTABLE_FIELDS}

    def set_choices(self, teams, ms_types) -> None:
        self.team_id.choices = [SelectChoice(team.id, team.name) for team in teams]
        self._ms_types = set(ms_types)

    def validate_cond_country(self, field) -> None:
        bad = [v for v in split_values(field.data) if not re.fullmatch(r"[A-Za-z]{2}", v)]
        if bad:
            raise ValidationError(_("Use two-letter country codes, such as US or CA."))

    def validate_cond_eligibility_outcome(self, field) -> None:
        if set(split_values(field.data)) - set(OUTCOMES):
            raise ValidationError(_("Use only: %(codes)s.", codes=", ".join(OUTCOMES)))

    def validate_cond_ms_type(self, field) -> None:
        if set(split_values(field.data)) - self._ms_types:
            raise ValidationError(
                _("Use only: %(codes)s.", codes=", ".join(sorted(self._ms_types)))
            )


for _field in ROUTABLE_FIELDS:
    _label, _hint = CONDITION_LABELS.get(_field, (_field, _l("Separated by commas.")))
    setattr(
        RuleForm,
        f"cond_{_field}",
        StringField(_label, [Optional(), Length(max=500)], filters=[clean_line], description=_hint),
    )


class AuditFilterForm(FlaskForm):
    """Read from the query string: the filters hold staff ids, action names and dates only."""

    class Meta:
        csrf = False

    actor = SelectField(_l("Who"), coerce=int, validators=[Optional()])
    action = StringField(
        _l("Action starts with"),
        [Optional(), Length(max=64)],
        filters=[clean_line],
        description=_l(
            "The start of an action's name: lead. finds every lead action, signin. every sign-in."
        ),
    )
    lead = IntegerField(
        _l("Lead id"), [Optional(), NumberRange(1, MAX_ID, _l("Enter a lead number."))]
    )
    outcome = SelectField(
        _l("Outcome"),
        choices=[
            SelectChoice("", _l("Any")),
            *(SelectChoice(o, labels("audit_outcome").get(o, o)) for o in AUDIT_OUTCOMES),
        ],
        validators=[Optional()],
    )
    date_from = DateField(_l("From (date)"), [Optional()])
    date_to = DateField(_l("To (date, inclusive)"), [Optional()])

    def set_actors(self, actors) -> None:
        self.actor.choices = [
            SelectChoice(0, _("Anyone")),
            *(SelectChoice(u.id, f"{u.name} ({_role(u.role)})") for u in actors),
        ]

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("The end date must not be before the start date."))


class CadenceForm(FlaskForm):
    """One cadence's settings; the delays are checked against the cadence by the service."""

    enabled = BooleanField(_l("Send these emails"))
    steps = StringField(
        _l("Delays after the start"),
        [DataRequired(_l("Give at least one delay, like 1h or 3d.")), Length(max=200)],
        filters=[clean_line],
        description=_l("Separated by commas, like 1h, 24h, 72h (m minutes, h hours, d days)."),
    )
    quiet_hours = BooleanField(_l("Wait for the patient's daytime"))


class MessageTemplateForm(FlaskForm):
    """A new version of a message template; what it may say is checked by the service
    (intake.conversations.templates.problems), with each error shown by its field."""

    subject = StringField(_l("Subject"), filters=[clean_line])
    body = TextAreaField(
        _l("Message"),
        filters=[clean_text],
        render_kw={"rows": 14},
        description=_l(
            "Placeholders: {{ first_name }}, {{ clinic_name }}, {{ staff_first_name }}, "
            "{{ privacy_link }}, {{ inquiry_link }}, {{ booking_link }} (the patient's link to "
            "choose a consult time). Nothing about the patient's health."
        ),
    )


class ApiKeyForm(FlaskForm):
    name = StringField(
        _l("What the key is for"),
        [DataRequired(_l("Enter a name.")), Length(max=100)],
        filters=[clean_line],
        description=_l("The system that will use it, for example “Call centre”."),
    )
    scopes = MultiCheckboxField(
        _l("What it may do"),
        choices=[SelectChoice(scope, scope) for scope in API_SCOPES],
        validators=[DataRequired(_l("Choose at least one thing the key may do."))],
    )
