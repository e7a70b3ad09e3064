"""Forms of the lead queue: the GET filters, the search box, bulk actions, and the keyset
cursor (an opaque, signed token, so a tampered one is recognised and ignored)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from itsdangerous import BadData, URLSafeSerializer
from wtforms import (
    DateField,
    Form,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from intake.display import labels
from intake.i18n import LANGUAGES
from intake.leads.filters import LeadQuery
from intake.leads.pipeline import REASON_MAX
from intake.models import STATUSES
from intake.questionnaire.definition import Questionnaire
from intake.routing.sla import SLA_STATES
from intake.staff.display import lazy_gettext as _l
from intake.staff.queries.queue import FilterOptions
from intake.text import clean_text

VIEW_LABELS = {
    "mine": _l("My leads"),
    "team": _l("My teams"),
    "all": _l("All leads"),
    "review": _l("Needs clinical review"),
    "unassigned": _l("Unassigned"),
}
SORT_LABELS = {
    "sla": _l("SLA due soonest"),
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
    "updated": _l("Recently updated"),
}
SLA_LABELS = {code: labels("sla")[code] for code in SLA_STATES}
OUTCOME_LABELS = labels("outcome")
STATUS_LABELS = labels("status")
REPLIED_CHOICES = [("", _l("With or without new replies")), ("yes", _l("New replies only"))]
INCOMPLETE_CHOICES = [
    ("", _l("Complete or not")),
    ("yes", _l("Incomplete only")),
    ("no", _l("Complete only")),
]
# Each language named in itself, and marked as such for screen readers ("Español", lang="es").
LANGUAGE_CHOICES = [
    SelectChoice("", _l("Any language")),
    *(SelectChoice(code, name, render_kw={"lang": code}) for code, name in LANGUAGES.items()),
]
MOVABLE = [status for status in STATUSES if status != "merged"]
CHOOSE = _l("Choose one of the options in the list.")
DATE_FORMAT_MESSAGE = _l("Enter a date like 2026-03-01.")


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Choices for a select, from (value, label) pairs."""
    return [SelectChoice(value, text) for value, text in pairs]


def _choices(labels: dict[str, str], anything: str) -> list[SelectChoice]:
    return options([("", anything), *labels.items()])


def option_labels(questionnaire: Questionnaire, link_id: str) -> dict[str, str]:
    """A question's answer codes and how they read."""
    item = questionnaire.items.get(link_id)
    return {option.code: option.display for option in item.options} if item else {}


class QueueFilterForm(Form):
    """The queue's filters, read from the query string (no CSRF: it changes nothing)."""

    view = SelectField(
        _l("View"), choices=options(VIEW_LABELS.items()), invalid_choice_message=CHOOSE
    )
    status = SelectMultipleField(
        _l("Status"), choices=options((status, STATUS_LABELS[status]) for status in STATUSES),
        invalid_choice_message=CHOOSE,
    )  # fmt: skip
    owner = SelectField(_l("Owner"), default="", invalid_choice_message=CHOOSE)
    team = SelectField(_l("Team"), default="", invalid_choice_message=CHOOSE)
    outcome = SelectField(
        _l("Eligibility outcome"), choices=_choices(OUTCOME_LABELS, _l("Any outcome")),
        default="", invalid_choice_message=CHOOSE,
    )  # fmt: skip
    ms_type = SelectField(_l("MS type"), default="", invalid_choice_message=CHOOSE)
    source = SelectField(_l("Source"), default="", invalid_choice_message=CHOOSE)
    created_from = DateField(
        _l("Created from"), validators=[Optional()], invalid_value_message=DATE_FORMAT_MESSAGE
    )
    created_to = DateField(
        _l("Created to"), validators=[Optional()], invalid_value_message=DATE_FORMAT_MESSAGE
    )
    sla = SelectField(
        _l("SLA"), choices=_choices(SLA_LABELS, _l("Any SLA state")), default="",
        invalid_choice_message=CHOOSE,
    )  # fmt: skip
    incomplete = SelectField(
        _l("Inquiry complete?"),
        choices=options(INCOMPLETE_CHOICES),
        default="", invalid_choice_message=CHOOSE,
    )  # fmt: skip
    language = SelectField(
        _l("Language"), choices=LANGUAGE_CHOICES, default="", invalid_choice_message=CHOOSE
    )
    replied = SelectField(
        _l("Replies"), choices=options(REPLIED_CHOICES), default="", invalid_choice_message=CHOOSE
    )
    sort = SelectField(
        _l("Sort by"),
        choices=options(SORT_LABELS.items()),
        default="sla",
        invalid_choice_message=CHOOSE,
    )

    def __init__(self, formdata, *, choices: FilterOptions, questionnaire: Questionnaire):
        super().__init__(formdata)
        self.owner.choices = options(
            [("", _("Anyone")), ("none", _("Nobody (unassigned)"))]
            + [(str(staff_id), name) for staff_id, name, _active in choices.staff]
        )
        self.team.choices = options(
            [("", _("Any team")), ("none", _("No team"))]
            + [(str(team_id), name) for team_id, name in choices.teams]
        )
        ms_types = option_labels(questionnaire, "ms_type")
        self.ms_type.choices = _choices(ms_types, _("Any MS type"))
        self.source.choices = _choices(option_labels(questionnaire, "heard_about"), _("Any source"))

    def validate_created_to(self, field) -> None:
        start = self.created_from.data
        if field.data and start and field.data < start and not self.created_from.errors:
            raise ValidationError(_("The end date must be on or after the start date."))

    def to_query(self, default_view: str, time_zone: str = "UTC") -> LeadQuery:
        """The valid filters as a typed query; a field with an error is left out. The dates
        are days in ``time_zone`` (the reader's)."""
        self.validate()

        def value(field):
            return None if field.errors or field.data in ("", None) else field.data

        incomplete = value(self.incomplete)
        return LeadQuery(
            view=value(self.view) or default_view,
            sort=value(self.sort) or "sla",
            statuses=tuple(value(self.status) or ()),
            owner=_id_value(value(self.owner)),
            team=_id_value(value(self.team)),
            outcome=value(self.outcome),
            ms_type=value(self.ms_type),
            source=value(self.source),
            created_from=value(self.created_from),
            created_to=value(self.created_to),
            sla=value(self.sla),
            incomplete=None if incomplete is None else incomplete == "yes",
            language=value(self.language),
            replied=True if value(self.replied) == "yes" else None,
            time_zone=time_zone,
        )


def _id_value(raw: str | None) -> int | str | None:
    if raw is None or raw == "none":
        return raw
    return int(raw)


class SearchForm(FlaskForm):
    term = StringField(
        _l("Search by name, email or phone"),
        filters=[clean_text],
        validators=[
            InputRequired(_l("Type a name, email address or phone number.")),
            Length(max=200, message=_l("Keep the search under %(max)d characters.")),
        ],
    )


class BulkForm(FlaskForm):
    """Several leads at once: assign them, or move their status with a reason."""

    action = SelectField(
        choices=options([("assign", _l("Assign")), ("status", _l("Change status"))])
    )
    owner = SelectField(_l("Assign to"), default="")
    status = SelectField(
        _l("New status"), default="",
        choices=options(
            [("", _l("Choose a status"))] + [(s, STATUS_LABELS[s]) for s in MOVABLE]
        ),
    )  # fmt: skip
    reason = TextAreaField(
        _l("Reason (needed when closing)"),
        filters=[clean_text],
        validators=[Length(max=REASON_MAX, message=_l("Keep it under %(max)d characters."))],
    )
    return_to = StringField(filters=[clean_text])

    def __init__(self, *args, staff: Iterable[tuple[int, str, bool]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.owner.choices = options(
            [("", _("Choose a person"))]
            + [(str(staff_id), name) for staff_id, name, active in staff if active]
        )


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt="staff-queue-cursor")


def encode_cursor(secret_key: str, sort: str, after: tuple) -> str:
    """The last row's (sort value, id) as an opaque, signed token."""
    value, last_id = after
    text = value.isoformat() if isinstance(value, datetime) else None
    return _serializer(secret_key).dumps([sort, text, last_id])


def decode_cursor(secret_key: str, token: str, sort: str) -> tuple:
    """(sort value, id) from a token made by ``encode_cursor`` for this sort; ValueError else."""
    try:
        token_sort, text, last_id = _serializer(secret_key).loads(token)
        value = datetime.fromisoformat(text) if text is not None else None
    except (BadData, TypeError, ValueError) as exc:
        raise ValueError("not a queue cursor") from exc
    if token_sort != sort or not isinstance(last_id, int) or (value and not value.tzinfo):
        raise ValueError("not a cursor for this sort")
    if value is None and sort != "sla":
        raise ValueError("only the SLA sort has empty values")
    return value, last_id
