"""WTForms forms built from the questionnaire definition, one class per step.

Forms check shape only: what was typed, in what format, and whether a shown question that needs
an answer has one. A hidden question (its enableWhen does not hold) is neither required nor kept.

Labels come from the questionnaire in the page's language (one form class per questionnaire);
every message and prompt of the form itself is translated when the form is built or checked.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

import pycountry
from babel.support import Translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.i18n import messages_path
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from intake.i18n import current_language
from intake.inquiries.contacts import (
    EMAIL_FORMAT,
    PHONE_FORMAT,
    PHONE_INCOMPLETE,
    InvalidContact,
    normalise_email,
    normalise_phone,
)
from intake.public.countries import countries
from intake.public.date_parts import EXAMPLE, DatePartsField
from intake.questionnaire.definition import Item, Questionnaire, Step
from intake.text import clean_text

SELECT_THRESHOLD = 8
# What the patient reads when a contact detail cannot be used (InvalidContact.reason).
CONTACT_MESSAGES = {
    EMAIL_FORMAT: lazy_gettext("Enter an email address like name@example.com."),
    PHONE_FORMAT: lazy_gettext("Enter a phone number with its area code, like +1 212 555 0100."),
    PHONE_INCOMPLETE: lazy_gettext(
        "That phone number does not look complete. Check it, including the area code."
    ),
}


def _empty(value: Any) -> bool:
    return value in (None, "", [], False)


class Required:
    """The question is shown and needs an answer."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if _empty(field.data) and not getattr(field, "typed", False):
            field.errors[:] = []
            raise StopValidation(self.message)


def required_message(item: Item) -> str:
    if item.type == "boolean":
        return _("Tick this box to continue.")
    if item.type in ("choice", "country"):
        return _("Choose one of the answers.")
    if item.type == "multi_choice":
        return _("Choose at least one answer.")
    if item.type == "date":
        return _("Enter the day, month and year. %(example)s.", example=EXAMPLE)
    return _("Please answer this question.")


def _length(limit: int | None):
    def check(form, field) -> None:
        if limit and isinstance(field.data, str) and len(field.data) > limit:
            # The number as digits, with no grouping ("2000"), in every language.
            raise ValidationError(
                _("Please keep this to %(limit)s characters or fewer.", limit=str(limit))
            )

    return check


def _choice(item: Item):
    codes = {option.code for option in item.options}

    def check(form, field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(value not in codes for value in values if not _empty(value)):
            raise ValidationError(_("Choose one of the answers shown."))

    return check


def _country(form, field) -> None:
    if field.data and pycountry.countries.get(alpha_2=field.data) is None:
        raise ValidationError(_("Choose your country from the list."))


def _contact(form, field) -> None:
    """An email or phone that cannot be used, said in plain words."""
    if field.data:
        try:
            form.contact(field)
        except InvalidContact as exc:
            raise ValidationError(str(CONTACT_MESSAGES[exc.reason])) from exc


def _year(item: Item):
    def check(form, field) -> None:
        if not field.data:
            return
        low, high = item.min_value or 1900, form.today.year
        if not field.data.isdigit() or not low <= int(field.data) <= high:
            raise ValidationError(
                _(
                    "Enter a year between %(low)s and %(high)s, for example 2015.",
                    low=str(low),
                    high=str(high),
                )
            )

    return check


def _date(form, field) -> None:
    field.check(today=form.today)


class CountryField(SelectField):
    """A list of countries, named and sorted in the page's language, after a prompt."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, choices=[], validate_choice=False, **kwargs)
        self.choices = [SelectChoice("", _("Choose a country")), *countries(current_language())]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        """Unknown codes are reported by the item's own validator, in plain words."""


def _field(item: Item) -> Field:
    kwargs: dict[str, Any] = {"label": item.text, "description": item.help or ""}
    render_kw = {"autocomplete": item.autocomplete} if item.autocomplete else {}
    text_kwargs = {
        **kwargs,
        "filters": [clean_text],
        "render_kw": render_kw,
        "validators": [_length(item.max_length)],
    }
    choices = [SelectChoice(option.code, option.display) for option in item.options]
    if item.type == "string":
        return StringField(**text_kwargs)
    if item.type == "text":
        return TextAreaField(**{**text_kwargs, "render_kw": {**render_kw, "rows": 5}})
    if item.type == "email":
        text_kwargs["validators"].append(_contact)
        return EmailField(**text_kwargs)
    if item.type == "phone":
        text_kwargs["validators"].append(_contact)
        return TelField(**text_kwargs)
    if item.type == "year":
        text_kwargs["validators"].append(_year(item))
        return StringField(**{**text_kwargs, "render_kw": {"inputmode": "numeric"}})
    if item.type == "date":
        return DatePartsField(
            label=item.text,
            description=item.help or EXAMPLE,
            validators=[_date],
            autocomplete=item.autocomplete,
        )
    if item.type == "country":
        return CountryField(validators=[_country], render_kw=render_kw, **kwargs)
    if item.type == "choice" and len(choices) > SELECT_THRESHOLD:
        return SelectField(
            choices=[SelectChoice("", lazy_gettext("Choose an answer")), *choices],
            validate_choice=False,
            validators=[_choice(item)],
            **kwargs,
        )
    if item.type == "choice":
        return RadioField(
            choices=choices, validate_choice=False, validators=[_choice(item)], **kwargs
        )
    if item.type == "multi_choice":
        return MultiCheckboxField(choices=choices, validators=[_choice(item)], **kwargs)
    return BooleanField(**kwargs)


@cache
def wtforms_translations(language: str) -> Translations:
    """WTForms' own messages in ``language``, read from its catalogue once per process
    (Flask-WTF reads the file again on every request)."""
    return Translations.load(messages_path(), [language], domain="wtforms")


class StepForm(FlaskForm):
    """One step of the inquiry; knows its items and the answers given on other steps."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return wtforms_translations(current_language())

    draft = HiddenField()
    step: Step
    questionnaire: Questionnaire

    def __init__(self, *args, context: dict | None = None, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.context = context or {}
        self.today = today
        self._contacts: dict[tuple, str] = {}

    def country_code(self) -> str | None:
        own = getattr(self, "country", None)
        return (own.data if own is not None else None) or self.context.get("country")

    def raw_answers(self) -> dict[str, Any]:
        return {item.link_id: clean_text(self[item.link_id].data) for item in self.step.items}

    def shown_items(self) -> list[Item]:
        answers = {**self.context, **self.raw_answers()}
        return [item for item in self.step.items if item.is_enabled(answers, today=self.today)]

    def validate(self, extra_validators=None) -> bool:
        shown = self.shown_items()
        extra = {
            item.link_id: [Required(required_message(item))] for item in shown if item.required
        }
        super().validate(extra_validators=extra)
        shown_ids = {item.link_id for item in shown}
        for item in self.step.items:
            if item.link_id not in shown_ids:
                self[item.link_id].errors = []
        fields_ok = not any(field.errors for field in self)
        return self.validate_step() and fields_ok

    def validate_step(self) -> bool:
        """Checks across fields; none by default."""
        return True

    def answers(self, *, only_valid: bool = False) -> dict[str, Any]:
        """The typed answers to shown questions (optionally only those without errors)."""
        result = {}
        for item in self.shown_items():
            field = self[item.link_id]
            if _empty(field.data) or (only_valid and field.errors):
                continue
            result[item.link_id] = self._typed(item, field.data)
        return result

    def _typed(self, item: Item, value: Any) -> Any:
        if item.type in ("email", "phone"):
            return self.contact(self[item.link_id])
        if item.type == "year":
            return int(value)
        return value

    def contact(self, field: Field) -> str:
        """An email field's address or a phone field's number as stored (lower case, E.164),
        worked out once a form for what was typed (checking the form and reading its answers
        both need it); raises ``InvalidContact``."""
        phone = field.type == "TelField"
        country = self.country_code() if phone else None
        key = (field.name, field.data, country)
        if key not in self._contacts:
            self._contacts[key] = (
                normalise_phone(field.data, country) if phone else normalise_email(field.data)
            )
        return self._contacts[key]

    @classmethod
    def data_from_answers(cls, answers: dict[str, Any]) -> dict[str, Any]:
        """What a form shows for stored answers."""
        return {
            item.link_id: str(answers[item.link_id])
            if item.type == "year"
            else answers[item.link_id]
            for item in cls.step.items
            if item.link_id in answers
        }

    @property
    def error_list(self) -> list[tuple[str, str, str]]:
        """The error summary: where each link leads, the question, and what is wrong."""
        return [
            (
                anchor(self[item.link_id]),
                self[item.link_id].label.text,
                self[item.link_id].errors[0],
            )
            for item in self.step.items
            if self[item.link_id].errors
        ]


def anchor(field: Field) -> str:
    """The id an error link focuses: the first choice, the first date box to correct."""
    if isinstance(field, DatePartsField):
        return field.first_wrong_id
    if field.type in ("RadioField", "MultiCheckboxField"):
        return f"{field.id}-0"
    return field.id


class ContactForm(StepForm):
    """Step 1, with the bot checks and the key that makes a double submit harmless."""

    # The email and phone of the person with MS are one question with two answers: either will
    # do, so neither is "optional" on its own, and a missing pair is one error tied to both.
    REACH = ("email", "phone")
    REACH_LEGEND = lazy_gettext("How can we reach the person with MS?")
    REACH_HINT = lazy_gettext("Give an email address, a phone number or both.")
    REACH_MISSING = lazy_gettext("Give an email address or a phone number, so we can reply.")
    reach_error: str | None = None

    submission_key = HiddenField()
    rendered_at = HiddenField()
    detected_time_zone = HiddenField(filters=[clean_text])
    leave_blank = StringField(lazy_gettext("Leave this field blank"), filters=[clean_text])

    def validate_step(self) -> bool:
        """An email or a phone to reply to, matching the chosen way of contact. What was typed
        counts here even if malformed: its own field already says what is wrong with it."""
        given = {name for name, value in self.raw_answers().items() if value}
        shown = {item.link_id for item in self.shown_items()}
        typed = given & shown
        if not typed & {"email", "phone", "caregiver_email", "caregiver_phone"}:
            self.reach_error = str(self.REACH_MISSING)
            return False
        method = self.preferred_contact_method.data
        wanted = {
            "email": {"email", "caregiver_email"},
            "phone": {"phone", "caregiver_phone"},
            "text": {"phone", "caregiver_phone"},
        }
        if method in wanted and not typed & wanted[method]:
            self.preferred_contact_method.errors.append(
                _("You chose this way to contact you, so please also give an email address.")
                if method == "email"
                else _("You chose this way to contact you, so please also give a phone number.")
            )
            return False
        return True

    @property
    def error_list(self) -> list[tuple[str, str, str]]:
        errors = super().error_list
        if self.reach_error:
            at = next(
                (i for i, (_, label, _) in enumerate(errors) if label in self._later_labels()),
                len(errors),
            )
            errors.insert(at, (self.email.id, _("Email address or phone number"), self.reach_error))
        return errors

    def _later_labels(self) -> set[str]:
        """Questions after the email and phone, so the pair's error keeps the page's order."""
        ids = [item.link_id for item in self.step.items]
        return {self[link_id].label.text for link_id in ids[ids.index(self.REACH[-1]) + 1 :]}


@cache
def step_form_class(questionnaire: Questionnaire, step_id: str) -> type[StepForm]:
    """The form class for a step, built once per questionnaire version."""
    step = questionnaire.step(step_id)
    base = ContactForm if step_id == questionnaire.steps[0].id else StepForm
    attrs = {item.link_id: _field(item) for item in step.items}
    return type(
        f"{step_id.title().replace('_', '')}Form",
        (base,),
        {"step": step, "questionnaire": questionnaire, **attrs},
    )
