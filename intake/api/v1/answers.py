"""An inquiry's answers checked exactly as the public form checks them: each step's own form
class (``intake.public.forms``, built from the questionnaire) is filled with the posted values
and validated, so the API and the form share every rule and every message; nothing is forked.

JSON values become what a browser would post: lists as repeated values, ``true`` as a ticked
box, an ISO date as the day, month and year boxes."""

from __future__ import annotations

from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from intake.public.forms import ContactForm, StepForm, step_form_class
from intake.questionnaire.definition import Questionnaire

GROUPS = ("contact", "answers", "consents")


def group_of(questionnaire: Questionnaire, step_id: str) -> str:
    """Which part of the request body holds a step's questions."""
    ids = [step.id for step in questionnaire.steps]
    if step_id == ids[0]:
        return "contact"
    return "consents" if step_id == ids[-1] else "answers"


def _formdata(form_class: type[StepForm], values: dict[str, Any]) -> MultiDict:
    data = MultiDict()
    for item in form_class.step.items:
        value = values.get(item.link_id)
        if value is None or value is False:
            continue
        if item.type == "date":
            try:
                day = date.fromisoformat(str(value))
            except ValueError:
                for part, text in zip(
                    ("day", "month", "year"), str(value).split("-"), strict=False
                ):
                    data.add(f"{item.link_id}-{part}", text)
                continue
            data.add(f"{item.link_id}-day", str(day.day))
            data.add(f"{item.link_id}-month", str(day.month))
            data.add(f"{item.link_id}-year", str(day.year))
        elif isinstance(value, list):
            for one in value:
                data.add(item.link_id, str(one))
        elif value is True:
            data.add(item.link_id, "y")
        else:
            data.add(item.link_id, str(value))
    return data


def check_answers(
    questionnaire: Questionnaire, body: dict[str, dict], *, today: date
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """(typed answers by step id, errors by "group.question") for the whole questionnaire."""
    errors: dict[str, list[str]] = {}
    known = {group: set() for group in GROUPS}
    for step in questionnaire.steps:
        known[group_of(questionnaire, step.id)].update(item.link_id for item in step.items)
    for group in GROUPS:
        for name in set(body.get(group) or {}) - known[group]:
            errors[f"{group}.{name}"] = ["Not a question of this part of the form."]
    context: dict[str, Any] = {}
    typed: dict[str, dict[str, Any]] = {}
    for step in questionnaire.steps:
        group = group_of(questionnaire, step.id)
        values = body.get(group) or {}
        form_class = step_form_class(questionnaire, step.id)
        form = form_class(
            formdata=_formdata(form_class, values),
            meta={"csrf": False},
            context=context,
            today=today,
        )
        valid = form.validate()
        for item in step.items:
            if form[item.link_id].errors:
                errors[f"{group}.{item.link_id}"] = [str(e) for e in form[item.link_id].errors]
        if isinstance(form, ContactForm) and form.reach_error:
            errors[f"{group}.email"] = [form.reach_error]
        if valid:
            typed[step.id] = form.answers()
            context.update(typed[step.id])
        else:
            context.update(form.answers(only_valid=True))
            if not any(key.startswith(f"{group}.") for key in errors):
                errors[group] = ["Please check this part of the form."]
    return typed, errors
