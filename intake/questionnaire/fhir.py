"""Export the questionnaire and one inquiry's answers as FHIR R4B resources. Pure: no I/O.

Only branching that FHIR ``enableWhen`` can express exactly is exported; anything else (ages,
substring tests, ordering on unordered answers, mixed any/all nesting) raises
:class:`FhirExportError` naming the item, rather than exporting different logic.

The questionnaire's translations travel with it as the standard ``translation`` extension on
each text's primitive element (``_title``, ``_text``, a coding's ``_display``), one per language
whose words differ from the source's (a text that reads the same, such as "No" or an EDSS score,
needs none: a reader falls back to the text itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pycountry

from intake.questionnaire.definition import Item, Questionnaire, Step
from intake.questionnaire.fhir_translation import (
    Translations,
    Words,
    translatable,
    translation_problem,
)

BASE_URL = "https://intake.example/fhir"
HEALTH_DATA_URL = f"{BASE_URL}/StructureDefinition/health-data"
ITEM_CONTROL_URL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
COUNTRY_SYSTEM = "urn:iso:std:iso:3166"
COUNTRY_VALUE_SET = "http://hl7.org/fhir/ValueSet/iso3166-1-2"
RESPONSE_STATUSES = frozenset({"completed", "in-progress"})

FHIR_TYPES = {
    "string": "string",
    "text": "text",
    "email": "string",
    "phone": "string",
    "country": "choice",
    "choice": "choice",
    "multi_choice": "choice",
    "year": "integer",
    "date": "date",
    "boolean": "boolean",
}
_EQUALITY = frozenset({"=", "!=", "exists"})
_ENABLE_OPERATORS = {
    "year": _EQUALITY | {">", ">=", "<", "<="},
    "multi_choice": frozenset({"contains", "exists"}),
}
_ANSWER_TYPES: dict[str, type | tuple[type, ...]] = {
    "year": int,
    "boolean": bool,
    "multi_choice": (list, tuple),
}

EnableWhen = tuple[str | None, list[dict]]


class FhirExportError(ValueError):
    """The definition or the answers cannot be expressed faithfully in FHIR."""


def questionnaire_url(questionnaire: Questionnaire) -> str:
    """The canonical URL of the exported Questionnaire."""
    return f"{BASE_URL}/Questionnaire/{questionnaire.id}"


def questionnaire_to_fhir(
    questionnaire: Questionnaire, translations: Translations | None = None
) -> dict[str, Any]:
    """The questionnaire as a FHIR R4B ``Questionnaire``, one group item per step.

    ``translations`` maps a language code to the same questionnaire in that language (from
    ``load_definition(..., language=...)``); each of their texts rides on the source's as a
    ``translation`` extension."""
    translations = dict(translations or {})
    for language, translated in translations.items():
        problem = translation_problem(questionnaire, language, translated)
        if problem:
            raise FhirExportError(f"translation {language!r}: {problem}")
    return {
        "resourceType": "Questionnaire",
        "id": questionnaire.id,
        "url": questionnaire_url(questionnaire),
        "version": questionnaire.version,
        **translatable("title", questionnaire.title, translations, lambda q: q.title),
        "status": "active",
        "item": [_step_group(step, questionnaire, translations) for step in questionnaire.steps],
    }


def _step_group(step: Step, questionnaire: Questionnaire, translations: Translations) -> dict:
    intro = (
        [_display(f"{step.id}.intro", step.intro, translations, lambda q: q.step(step.id).intro)]
        if step.intro
        else []
    )
    items = [_question(item, questionnaire, translations) for item in step.items]
    return {
        "linkId": step.id,
        **translatable("text", step.title, translations, lambda q: q.step(step.id).title),
        "type": "group",
        "item": intro + items,
    }


def _display(
    link_id: str,
    text: str,
    translations: Translations,
    words: Words,
    *,
    control: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": link_id,
        **translatable("text", text, translations, words),
        "type": "display",
    }
    if control:
        coding = {"system": ITEM_CONTROL_SYSTEM, "code": control}
        item["extension"] = [
            {"url": ITEM_CONTROL_URL, "valueCodeableConcept": {"coding": [coding]}}
        ]
    return item


def _question(item: Item, questionnaire: Questionnaire, translations: Translations) -> dict:
    link_id = item.link_id
    question: dict[str, Any] = {
        "linkId": link_id,
        **translatable("text", item.text, translations, lambda q: q.items[link_id].text),
        "type": FHIR_TYPES[item.type],
    }
    question.update(_constraints(item))
    question.update(_answer_choices(item, translations))
    question.update(_enablement(item, questionnaire))
    extensions = _extensions(item)
    if extensions:
        question["extension"] = extensions
    if item.help:
        question["item"] = [
            _display(
                f"{link_id}.help",
                item.help,
                translations,
                lambda q: q.items[link_id].help or "",
                control="help",
            )
        ]
    return question


def _constraints(item: Item) -> dict[str, Any]:
    constraints: dict[str, Any] = {}
    if item.required:
        constraints["required"] = True
    if item.type == "multi_choice":
        constraints["repeats"] = True
    if item.max_length is not None:
        constraints["maxLength"] = item.max_length
    return constraints


def _answer_choices(item: Item, translations: Translations) -> dict[str, Any]:
    if item.type == "country":
        return {"answerValueSet": COUNTRY_VALUE_SET}
    if item.options:
        return {
            "answerOption": [_option(item, option.code, translations) for option in item.options]
        }
    return {}


def _option(item: Item, code: str, translations: Translations) -> dict[str, Any]:
    display = translatable(
        "display",
        item.display_for(code),
        translations,
        lambda q: q.items[item.link_id].display_for(code),
    )
    return {"valueCoding": {"code": code, **display}}


def _extensions(item: Item) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = []
    if item.min_value is not None:
        extensions.append({"url": MIN_VALUE_URL, "valueInteger": item.min_value})
    if item.health:
        extensions.append({"url": HEALTH_DATA_URL, "valueBoolean": True})
    return extensions


def _enablement(item: Item, questionnaire: Questionnaire) -> dict[str, Any]:
    if not item.enable_when:
        return {}
    where = f"item '{item.link_id}'"
    parts = [_flatten(condition, questionnaire, where) for condition in item.enable_when]
    behavior, conditions = _merge(parts, item.enable_behavior, where)
    exported: dict[str, Any] = {"enableWhen": conditions}
    if behavior:
        exported["enableBehavior"] = behavior
    return exported


def _flatten(condition: Mapping, questionnaire: Questionnaire, where: str) -> EnableWhen:
    """One of our conditions as FHIR enableWhen entries and the behaviour that joins them."""
    for combinator in ("any", "all"):
        if combinator in condition:
            parts = [_flatten(part, questionnaire, where) for part in condition[combinator]]
            return _merge(parts, combinator, where)
    if condition["operator"] == "in":
        parts = [
            (
                None,
                [
                    _enable_when(
                        {**condition, "operator": "=", "answer": value}, questionnaire, where
                    )
                ],
            )
            for value in condition.get("answer") or ()
        ]
        return _merge(parts, "any", where)
    return None, [_enable_when(condition, questionnaire, where)]


def _merge(parts: list[EnableWhen], behavior: str, where: str) -> EnableWhen:
    """Join flattened parts under ``behavior``; FHIR cannot nest 'any' inside 'all' or back."""
    if len(parts) == 1:
        return parts[0]
    if any(inner not in (None, behavior) for inner, _ in parts):
        raise FhirExportError(f"{where}: mixed any/all conditions cannot be expressed in FHIR")
    conditions = [condition for _, flattened in parts for condition in flattened]
    if not conditions:
        raise FhirExportError(f"{where}: a condition with no alternatives is never true")
    return (behavior if len(conditions) > 1 else None), conditions


def _enable_when(condition: Mapping, questionnaire: Questionnaire, where: str) -> dict[str, Any]:
    target = questionnaire.items[condition["question"]]
    operator = condition["operator"]
    if operator not in _ENABLE_OPERATORS.get(target.type, _EQUALITY):
        raise FhirExportError(
            f"{where}: operator '{operator}' on a {target.type} item has no FHIR equivalent"
        )
    answer = condition.get("answer")
    if operator == "exists":
        typed = {"answerBoolean": bool(answer)}
    else:
        typed = _condition_answer(target, answer)
    fhir_operator = "=" if operator == "contains" else operator
    return {"question": target.link_id, "operator": fhir_operator, **typed}


def _condition_answer(target: Item, answer: Any) -> dict[str, Any]:
    if target.type in ("choice", "multi_choice"):
        return {"answerCoding": {"code": str(answer)}}
    if target.type == "country":
        return {"answerCoding": {"system": COUNTRY_SYSTEM, "code": str(answer)}}
    if target.type == "boolean":
        return {"answerBoolean": bool(answer)}
    if target.type == "year":
        return _number_answer(answer)
    if target.type == "date":
        return {"answerDate": answer.isoformat() if isinstance(answer, date) else str(answer)}
    return {"answerString": str(answer)}


def _number_answer(answer: Any) -> dict[str, Any]:
    number = float(answer)
    if number.is_integer():
        return {"answerInteger": int(number)}
    return {"answerDecimal": number}


def response_to_fhir(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    *,
    response_id: str,
    status: str,
    authored: datetime | None,
) -> dict[str, Any]:
    """One inquiry's answers as a FHIR R4B ``QuestionnaireResponse``, grouped by step."""
    if status not in RESPONSE_STATUSES:
        raise FhirExportError(f"status must be one of {sorted(RESPONSE_STATUSES)}, not {status!r}")
    unknown = sorted(set(answers) - set(questionnaire.items))
    if unknown:
        raise FhirExportError(f"answer to unknown item '{unknown[0]}'")
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": f"{questionnaire_url(questionnaire)}|{questionnaire.version}",
        "status": status,
    }
    if authored is not None:
        response["authored"] = _timestamp(authored)
    groups = [group for step in questionnaire.steps if (group := _answered_group(step, answers))]
    if groups:
        response["item"] = groups
    return response


def _timestamp(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise FhirExportError("authored must be timezone-aware: FHIR requires an offset")
    return moment.isoformat()


def _answered_group(step: Step, answers: Mapping[str, Any]) -> dict[str, Any] | None:
    items = [
        {"linkId": item.link_id, "text": item.text, "answer": _answers(item, answers[item.link_id])}
        for item in step.items
        if _is_answered(answers.get(item.link_id))
    ]
    if not items:
        return None
    return {"linkId": step.id, "text": step.title, "item": items}


def _is_answered(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != ()


def _answers(item: Item, value: Any) -> list[dict[str, Any]]:
    _check_type(item, value)
    if item.type == "multi_choice":
        return [{"valueCoding": _option_coding(item, code)} for code in value]
    return [_answer(item, value)]


def _check_type(item: Item, value: Any) -> None:
    expected = _ANSWER_TYPES.get(item.type, str)
    wrong_int = item.type == "year" and isinstance(value, bool)
    if wrong_int or not isinstance(value, expected):
        raise FhirExportError(
            f"answer to '{item.link_id}' ({item.type}) has the wrong type {type(value).__name__}"
        )


def _answer(item: Item, value: Any) -> dict[str, Any]:
    if item.type == "choice":
        return {"valueCoding": _option_coding(item, value)}
    if item.type == "country":
        return {"valueCoding": _country_coding(item, value)}
    if item.type == "year":
        return {"valueInteger": value}
    if item.type == "boolean":
        return {"valueBoolean": value}
    if item.type == "date":
        return {"valueDate": value}
    return {"valueString": value}


def _option_coding(item: Item, code: str) -> dict[str, str]:
    if code not in {option.code for option in item.options}:
        raise FhirExportError(f"answer to '{item.link_id}': no option {code!r}")
    return {"code": code, "display": item.display_for(code)}


def _country_coding(item: Item, code: str) -> dict[str, str]:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise FhirExportError(f"answer to '{item.link_id}': {code!r} is not an ISO 3166 code")
    return {"system": COUNTRY_SYSTEM, "code": country.alpha_2, "display": country.name}
