"""The fields of the inquiry's forms, one for each questionnaire item, and their checks.

Each check says what is wrong in plain words, in the page's language; a shown question that
needs an answer gets ``Required`` from its form (``intake.public.forms``), which decides what is
shown.
"""

from __future__ import annotations

from typing import Any

import pycountry
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from intake.i18n import current_language
from intake.inquiries.contacts import (
    EMAIL_FORMAT,
    PHONE_FORMAT,
    PHONE_INCOMPLETE,
    InvalidContact,
)
from intake.public.countries import countries
from intake.public.date_parts import EXAMPLE, DatePartsField
from intake.questionnaire.definition import Item
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


def empty(value: Any) -> bool:
    return value in (None, "", [], False)


class Required:
    """The question is shown and needs an answer (the message is said in the page's language
    when the check fails)."""

    def __init__(self, message) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if empty(field.data) and not getattr(field, "typed", False):
            field.errors[:] = []
            raise StopValidation(str(self.message))


def required_message(item: Item):
    """What a shown question that needs an answer says when it has none (a lazy string)."""
    if item.type == "boolean":
        return lazy_gettext("Tick this box to continue.")
    if item.type in ("choice", "country"):
        return lazy_gettext("Choose one of the answers.")
    if item.type == "multi_choice":
        return lazy_gettext("Choose at least one answer.")
    if item.type == "date":
        return lazy_gettext("Enter the day, month and year. %(example)s.", example=EXAMPLE)
    return lazy_gettext("Please answer this question.")


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
        if any(value not in codes for value in values if not empty(value)):
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


def field_for(item: Item) -> Field:
    """The form field that asks ``item``, with its checks."""
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
