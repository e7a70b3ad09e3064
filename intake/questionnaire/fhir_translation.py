"""The questionnaire's translations in its FHIR export: the standard ``translation`` extension
(http://hl7.org/fhir/StructureDefinition/translation) on a text's primitive element.

    "text": "Yes",
    "_text": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation",
                             "extension": [{"url": "lang", "valueCode": "es"},
                                           {"url": "content", "valueString": "Sí"}]}]}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from intake.questionnaire.definition import Questionnaire

TRANSLATION_URL = "http://hl7.org/fhir/StructureDefinition/translation"
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*")  # BCP 47, as FHIR's languages

Translations = Mapping[str, Questionnaire]  # language → the questionnaire in that language
Words = Callable[[Questionnaire], str]  # which text of a questionnaire (the same in every one)


def translation_problem(source: Questionnaire, language: Any, translated: Any) -> str | None:
    """Why ``translated`` is not ``source`` in other words (same steps, items and codes)."""
    if not isinstance(language, str) or not LANGUAGE_CODE.fullmatch(language):
        return "not a language code"
    if not isinstance(translated, Questionnaire):
        return "not a questionnaire"
    if (translated.id, translated.version) != (source.id, source.version):
        return f"is {translated.id} {translated.version}, not {source.id} {source.version}"
    if [step.id for step in translated.steps] != [step.id for step in source.steps]:
        return "its steps differ from the source's"
    if list(translated.items) != list(source.items):
        return "its items differ from the source's"
    for link_id, item in source.items.items():
        other = translated.items[link_id]
        if [option.code for option in other.options] != [option.code for option in item.options]:
            return f"item '{link_id}' has other options than the source"
        if bool(other.help) != bool(item.help):
            return f"item '{link_id}' has help in only one language"
    return None


def translatable(
    element: str, text: str, translations: Translations, words: Words
) -> dict[str, Any]:
    """``element`` with the source's text, and ``_element`` with a translation for each language
    whose words differ (a text that reads the same needs none: readers fall back to it)."""
    extensions = [
        {
            "url": TRANSLATION_URL,
            "extension": [
                {"url": "lang", "valueCode": language},
                {"url": "content", "valueString": translated},
            ],
        }
        for language, questionnaire in translations.items()
        if (translated := words(questionnaire)) and translated != text
    ]
    if not extensions:
        return {element: text}
    return {element: text, f"_{element}": {"extension": extensions}}
