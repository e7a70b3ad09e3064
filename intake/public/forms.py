"""WTForms forms built from the questionnaire definition, one class per step.

Forms check shape only: what was typed, in what format, and whether a shown question that needs
an answer has one. A hidden question (its enableWhen does not hold) is neither required nor kept.

Labels come from the questionnaire in the page's language (one form class per questionnaire);
every message and prompt of the form itself is translated when the form is built or checked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache, partial
from typing import Any

from babel.support import Translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField
from wtforms.i18n import messages_path

from intake.i18n import current_language
from intake.inquiries.contacts import normalise_email, normalise_phone
from intake.public.date_parts import DatePartsField
from intake.public.fields import Required, empty, field_for, required_message
from intake.questionnaire.definition import Item, Questionnaire, Step
from intake.text import clean_text


@cache
def wtforms_translations(language: str) -> Translations:
    """WTForms' own messages in ``language``, read from its catalogue once per process
    (Flask-WTF reads the file again on every request)."""
    return Translations.load(messages_path(), [language], domain="wtforms")


class _SignedWhenShown:
    """A CSRF token signed the first time it is written into a page."""

    def __init__(self, sign: Callable[[], str]) -> None:
        self._sign, self._token = sign, None

    def __str__(self) -> str:
        if self._token is None:
            self._token = self._sign()
        return self._token


class _TokenWhenShown(FlaskForm.Meta.csrf_class):
    """Flask-WTF's CSRF check, with the page's next token signed only if the page is shown
    again: a step sent without fault redirects, and the token signed for it went unread."""

    def generate_csrf_token(self, csrf_token_field):
        return _SignedWhenShown(partial(super().generate_csrf_token, csrf_token_field))


class StepForm(FlaskForm):
    """One step of the inquiry; knows its items and the answers given on other steps."""

    class Meta(FlaskForm.Meta):
        csrf_class = _TokenWhenShown

        def get_translations(self, form):
            return wtforms_translations(current_language())

    draft = HiddenField()
    step: Step
    questionnaire: Questionnaire

    required: dict[str, list[Required]]  # link id → its check, for the items that need one

    def __init__(self, *args, context: dict | None = None, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.context = context or {}
        self.today = today
        self._contacts: dict[tuple, str] = {}
        self._raw: dict[str, Any] | None = None
        self._shown: list[Item] | None = None

    def country_code(self) -> str | None:
        own = getattr(self, "country", None)
        return (own.data if own is not None else None) or self.context.get("country")

    def raw_answers(self) -> dict[str, Any]:
        """What was typed for each of the step's items (once a form, as ``shown_items``)."""
        if self._raw is None:
            self._raw = {i.link_id: clean_text(self[i.link_id].data) for i in self.step.items}
        return self._raw

    def shown_items(self) -> list[Item]:
        """The step's items shown for the answers typed, worked out once a form (checking it,
        the checks across fields and reading its answers all need them; its data is set when
        it is built)."""
        if self._shown is None:
            answers = {**self.context, **self.raw_answers()}
            self._shown = [i for i in self.step.items if i.is_enabled(answers, today=self.today)]
        return self._shown

    def validate(self, extra_validators=None) -> bool:
        shown = self.shown_items()
        extra = {item.link_id: self.required[item.link_id] for item in shown if item.required}
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
            if empty(field.data) or (only_valid and field.errors):
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
    attrs = {item.link_id: field_for(item) for item in step.items}
    required = {i.link_id: [Required(required_message(i))] for i in step.items if i.required}
    return type(
        f"{step_id.title().replace('_', '')}Form",
        (base,),
        {"step": step, "questionnaire": questionnaire, "required": required, **attrs},
    )
