"""Placeholders in a message to a patient: ``{{ first_name }}`` and five more, never health.

A template or a message staff write may name only the safe fields (``SAFE_FIELDS``); filling is
a plain substitution of those names (not Jinja, not ``str.format``: nothing in a template can run
or reach an object). ``check`` refuses, in plain words naming it, a placeholder that names a
health answer (any item of the questionnaire marked as health, the lead's MS type, eligibility
outcome or clinical decision), any other detail of the patient's (another questionnaire item or
lead column), an unknown name, or braces that are not a placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from flask import current_app, has_app_context
from flask_babel import gettext as _

from intake.models import Lead

SAFE_FIELDS = (
    "first_name",
    "clinic_name",
    "staff_first_name",
    "privacy_link",
    "inquiry_link",
    "booking_link",
)
# A placeholder: two braces, a name (dotted names are read so that they can be refused by name).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
# Whatever is left with a brace in it once the placeholders are set aside.
_STRAY = re.compile(r"\{+[^{}\n]{0,40}\}*|\}+")
# Lead columns and words that say something of the patient's health (besides the items the
# questionnaire marks as health).
HEALTH_COLUMNS = frozenset({"ms_type", "eligibility_outcome", "clinical_decision"})
HEALTH_WORDS = frozenset(
    {"answer", "answers", "health", "eligibility", "decision", "reasons", "diagnosis", "rules"}
)


class TemplateError(ValueError):
    """A template that cannot be saved or filled: ``errors`` maps each input at fault
    ("subject" or "body") to its plain errors (staff text); ``field`` and ``messages`` are the
    first of them."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {field: list(found) for field, found in errors.items() if found}
        self.field, self.messages = next(iter(self.errors.items()))
        super().__init__(" ".join(self.messages))


def _shown(name: str) -> str:
    return "{{ " + name + " }}"


def _allowed_list() -> str:
    return ", ".join(_shown(name) for name in SAFE_FIELDS)


def _definitions() -> list:
    if has_app_context():
        found = [current_app.extensions.get("intake.definition")]
        found += list(current_app.extensions.get("intake.definitions", {}).values())
        return [definition for definition in found if definition is not None]
    return [_default_definition()]


@cache
def _default_definition():
    from intake.config import BaseConfig
    from intake.questionnaire.definition import load_definition

    return load_definition(BaseConfig.INTAKE_QUESTIONNAIRE)


def patient_names() -> tuple[frozenset[str], frozenset[str]]:
    """(names of health answers, names of the patient's other details): every questionnaire
    item id and the column it fills, and every lead column."""
    health, details = set(HEALTH_COLUMNS | HEALTH_WORDS), set(Lead.__table__.columns.keys())
    for definition in _definitions():
        for item in definition.questionnaire.items.values():
            names = {item.link_id, item.store, item.promote} - {None}
            (health if item.health else details).update(names)
    details -= health
    return frozenset(health), frozenset(details - set(SAFE_FIELDS))


def _refusal(name: str, health: frozenset[str], details: frozenset[str]) -> str | None:
    parts = name.lower().split(".")
    shown = _shown(name)
    if name in SAFE_FIELDS:
        return None
    if any(part in health for part in parts):
        return _(
            "%(placeholder)s is a health answer. Templates cannot include health information.",
            placeholder=shown,
        )
    if any(part in details for part in parts):
        return _(
            "%(placeholder)s is a detail from the patient's inquiry. Templates can only use "
            "%(allowed)s.",
            placeholder=shown,
            allowed=_allowed_list(),
        )
    return _(
        "%(placeholder)s is not a placeholder we can fill. Use only %(allowed)s.",
        placeholder=shown,
        allowed=_allowed_list(),
    )


def names_in(text: str) -> list[str]:
    """The placeholder names in ``text``, in order, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


def check(text: str | None) -> list[str]:
    """Plain errors for the placeholders of ``text`` (staff text, each naming the placeholder);
    empty when every placeholder is a safe field and every brace belongs to one."""
    text = text or ""
    health, details = patient_names()
    errors = [
        refusal
        for refusal in (_refusal(name, health, details) for name in names_in(text))
        if refusal
    ]
    for stray in dict.fromkeys(_STRAY.findall(PLACEHOLDER.sub(" ", text))):
        errors.append(
            _(
                "“%(text)s” is not a placeholder we can read. Write each placeholder with two "
                "braces on each side, like {{ first_name }}, and use braces for nothing else.",
                text=stray.strip(),
            )
        )
    return errors


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder replaced by its value, as plain text (escape it for
    HTML). A placeholder without a value (or not a safe field) raises ``TemplateError``."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "booking_link" and name not in values:
            message = _(
                "%(placeholder)s cannot be filled in: no kind of consult is offered yet. Ask "
                "an admin to add one, or take the link out.",
                placeholder=_shown(name),
            )
            raise TemplateError({"body": [message]})
        if name not in SAFE_FIELDS or name not in values:
            message = _("%(placeholder)s has no value to fill in.", placeholder=_shown(name))
            raise TemplateError({"body": [message]})
        return str(values[name])

    return PLACEHOLDER.sub(value, text)
