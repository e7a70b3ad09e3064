"""The FHIR export validates against the R4B models of fhir.resources and keeps its meaning."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaire import QuestionnaireItem
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from intake.questionnaire.definition import Questionnaire, load_definition, parse_questionnaire
from intake.questionnaire.fhir import (
    FhirExportError,
    questionnaire_to_fhir,
    response_to_fhir,
)

HELP_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
HEALTH_DATA = "https://intake.example/fhir/StructureDefinition/health-data"
EXPECTED_FHIR_TYPE = {
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
COMPLETE_ANSWERS: dict[str, Any] = {
    "filled_by": "someone_else",
    "first_name": "Maria",
    "last_name": "Keller",
    "caregiver_first_name": "Jonas",
    "caregiver_last_name": "Keller",
    "caregiver_relationship": "Son",
    "caregiver_email": "jonas.keller@example.org",
    "caregiver_phone": "+49 30 1234567",
    "email": "maria.keller@example.org",
    "phone": "+49 30 7654321",
    "preferred_contact_method": "email",
    "preferred_contact_time": "evening",
    "country": "DE",
    "region": "Berlin",
    "postal_code": "10115",
    "heard_about": "patient_group",
    "consent_resume": True,
    "diagnosed": "yes",
    "ms_type": "SPMS",
    "diagnosis_year": 2009,
    "mobility": "cane",
    "edss_known": "yes",
    "edss": "5.5",
    "on_dmt": "yes",
    "dmt_name": "Ocrevus",
    "relapse_12m": "no",
    "symptoms": ["walking", "other"],
    "symptoms_other": "Heat makes my legs weaker; I drop things more often.",
    "prior_stem_cell": "yes",
    "prior_stem_cell_when": "2019, in a trial in Hamburg",
    "date_of_birth": "1968-04-23",
    "cancer_5y": "no",
    "pregnancy": "not_applicable",
    "active_infection": "no",
    "blood_thinners": "not_sure",
    "organ_disease": "no",
    "able_to_travel": "yes",
    "privacy_notice": True,
    "consent_email": True,
    "consent_phone": False,
    "consent_text": False,
    "consent_follow_up": True,
    "not_medical_advice": True,
}
AUTHORED = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


@pytest.fixture
def questionnaire() -> Questionnaire:
    return load_definition("ms_inquiry").questionnaire


@pytest.fixture
def exported(questionnaire: Questionnaire) -> FhirQuestionnaire:
    return FhirQuestionnaire.model_validate(questionnaire_to_fhir(questionnaire))


def questions(model: FhirQuestionnaire) -> dict[str, QuestionnaireItem]:
    """Every non-group, non-display item of the exported questionnaire, by linkId."""
    found: dict[str, QuestionnaireItem] = {}
    pending = list(model.item or [])
    while pending:
        item = pending.pop()
        if item.type not in ("group", "display"):
            found[item.linkId] = item
        pending.extend(item.item or [])
    return found


def answer_value(answer: Any) -> Any:
    """The value of one validated QuestionnaireResponse answer, as our answers hold it."""
    if answer.valueCoding is not None:
        return answer.valueCoding.code
    if answer.valueDate is not None:
        return answer.valueDate.isoformat()
    for field in ("valueBoolean", "valueInteger", "valueString"):
        if getattr(answer, field) is not None:
            return getattr(answer, field)
    raise AssertionError(f"unexpected answer {answer}")


def read_back(model: QuestionnaireResponse, questionnaire: Questionnaire) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for group in model.item:
        for item in group.item:
            read = [answer_value(answer) for answer in item.answer]
            multi = questionnaire.items[item.linkId].type == "multi_choice"
            values[item.linkId] = read if multi else read[0]
    return values


def small_questionnaire(extra_items: list[dict]) -> Questionnaire:
    """A two-question definition plus ``extra_items``, for branching the default one lacks."""
    return parse_questionnaire(
        {
            "id": "small",
            "version": "1",
            "title": "Small",
            "steps": [
                {
                    "id": "only",
                    "title": "Only",
                    "items": [
                        {"linkId": "born", "text": "Born?", "type": "date"},
                        {
                            "linkId": "ms_type",
                            "text": "Type?",
                            "type": "choice",
                            "options": [
                                {"code": "RRMS", "display": "RRMS"},
                                {"code": "SPMS", "display": "SPMS"},
                                {"code": "PPMS", "display": "PPMS"},
                            ],
                        },
                        *extra_items,
                    ],
                }
            ],
        }
    )


def test_default_questionnaire_validates_as_fhir(
    questionnaire: Questionnaire, exported: FhirQuestionnaire
) -> None:
    assert exported.status == "active"
    assert exported.version == "2026.11.1"
    assert exported.url.endswith("/Questionnaire/ms-inquiry")
    assert [group.linkId for group in exported.item] == [step.id for step in questionnaire.steps]
    assert [group.text for group in exported.item] == [step.title for step in questionnaire.steps]
    assert {group.type for group in exported.item} == {"group"}


def test_every_item_appears_with_its_fhir_type(
    questionnaire: Questionnaire, exported: FhirQuestionnaire
) -> None:
    found = questions(exported)
    assert set(found) == set(questionnaire.items)
    for link_id, item in questionnaire.items.items():
        assert found[link_id].type == EXPECTED_FHIR_TYPE[item.type], link_id
        assert bool(found[link_id].repeats) == (item.type == "multi_choice"), link_id
        assert bool(found[link_id].required) == item.required, link_id
        assert found[link_id].maxLength == item.max_length, link_id


def test_choices_carry_their_codes_and_countries_their_value_set(
    exported: FhirQuestionnaire,
) -> None:
    found = questions(exported)
    codings = [option.valueCoding for option in found["pregnancy"].answerOption]
    assert [(c.code, c.display) for c in codings] == [
        ("yes", "Yes"),
        ("no", "No"),
        ("not_applicable", "Does not apply to me"),
    ]
    assert found["country"].answerValueSet == "http://hl7.org/fhir/ValueSet/iso3166-1-2"
    assert found["first_name"].answerOption is None


def test_edss_is_enabled_by_a_known_score(exported: FhirQuestionnaire) -> None:
    edss = questions(exported)["edss"]
    [condition] = edss.enableWhen
    assert condition.question == "edss_known"
    assert condition.operator == "="
    assert condition.answerCoding.code == "yes"
    assert edss.enableBehavior is None


def test_contains_on_symptoms_becomes_equals_on_a_repeating_item(
    exported: FhirQuestionnaire,
) -> None:
    found = questions(exported)
    [condition] = found["symptoms_other"].enableWhen
    assert (condition.question, condition.operator) == ("symptoms", "=")
    assert condition.answerCoding.code == "other"
    assert found["symptoms"].repeats is True


def test_help_is_a_nested_display_item_with_the_help_control(exported: FhirQuestionnaire) -> None:
    [help_item] = questions(exported)["diagnosis_year"].item
    assert help_item.linkId == "diagnosis_year.help"
    assert help_item.type == "display"
    assert help_item.text == "An approximate year is fine."
    [control] = help_item.extension
    assert control.url == HELP_CONTROL
    assert control.valueCodeableConcept.coding[0].code == "help"
    assert questions(exported)["ms_type"].item is None


def test_health_items_are_flagged_and_contact_items_are_not(
    questionnaire: Questionnaire, exported: FhirQuestionnaire
) -> None:
    found = questions(exported)
    for link_id, item in questionnaire.items.items():
        flags = [ext for ext in found[link_id].extension or [] if ext.url == HEALTH_DATA]
        assert [ext.valueBoolean for ext in flags] == ([True] if item.health else []), link_id
    minimum = [ext for ext in found["diagnosis_year"].extension if ext.valueInteger is not None]
    assert [(ext.url, ext.valueInteger) for ext in minimum] == [
        ("http://hl7.org/fhir/StructureDefinition/minValue", 1950)
    ]


def test_complete_response_validates_and_round_trips(questionnaire: Questionnaire) -> None:
    assert set(COMPLETE_ANSWERS) == set(questionnaire.items)
    shown = questionnaire.visible_answers(COMPLETE_ANSWERS, today=date(2026, 11, 21))
    assert shown == COMPLETE_ANSWERS, "the sample answers a hidden item"
    exported = response_to_fhir(
        questionnaire, COMPLETE_ANSWERS, response_id="inq-42", status="completed", authored=AUTHORED
    )
    model = QuestionnaireResponse.model_validate(exported)
    assert model.status == "completed"
    assert model.questionnaire == ("https://intake.example/fhir/Questionnaire/ms-inquiry|2026.11.1")
    assert model.authored == AUTHORED
    assert [group.linkId for group in model.item] == [step.id for step in questionnaire.steps]
    assert read_back(model, questionnaire) == COMPLETE_ANSWERS


def test_response_answers_are_typed(questionnaire: Questionnaire) -> None:
    model = QuestionnaireResponse.model_validate(
        response_to_fhir(
            questionnaire,
            COMPLETE_ANSWERS,
            response_id="inq-42",
            status="completed",
            authored=AUTHORED,
        )
    )
    answers = {item.linkId: item.answer for group in model.item for item in group.item}
    assert [(a.valueCoding.code, a.valueCoding.display) for a in answers["symptoms"]] == [
        ("walking", "Walking or balance"),
        ("other", "Something else"),
    ]
    assert answers["diagnosis_year"][0].valueInteger == 2009
    assert answers["date_of_birth"][0].valueDate == date(1968, 4, 23)
    assert answers["consent_phone"][0].valueBoolean is False
    country = answers["country"][0].valueCoding
    assert (country.system, country.code, country.display) == (
        "urn:iso:std:iso:3166",
        "DE",
        "Germany",
    )
    assert answers["ms_type"][0].valueCoding.display == "Secondary progressive (SPMS)"


def test_in_progress_response_holds_only_answered_steps(questionnaire: Questionnaire) -> None:
    partial = {
        "filled_by": "self",
        "first_name": "Ana",
        "last_name": "Silva",
        "email": "",
        "phone": None,
        "preferred_contact_method": "phone",
        "country": "PT",
        "symptoms": [],
    }
    exported = response_to_fhir(
        questionnaire, partial, response_id="inq-43", status="in-progress", authored=None
    )
    model = QuestionnaireResponse.model_validate(exported)
    assert model.status == "in-progress"
    assert model.authored is None
    [contact] = model.item
    assert contact.linkId == "contact"
    assert [item.linkId for item in contact.item] == [
        "filled_by",
        "first_name",
        "last_name",
        "preferred_contact_method",
        "country",
    ]


def test_response_rejects_what_fhir_would_misrepresent(questionnaire: Questionnaire) -> None:
    def export(answers: dict[str, Any], **overrides: Any) -> dict:
        options = {"response_id": "inq-44", "status": "completed", "authored": AUTHORED}
        return response_to_fhir(questionnaire, answers, **{**options, **overrides})

    with pytest.raises(FhirExportError, match="edss"):
        export({"edss": "11"})
    with pytest.raises(FhirExportError, match="consent_email"):
        export({"consent_email": "false"})
    with pytest.raises(FhirExportError, match="diagnosis_year"):
        export({"diagnosis_year": "2009"})
    with pytest.raises(FhirExportError, match="country"):
        export({"country": "XX"})
    with pytest.raises(FhirExportError, match="nickname"):
        export({"nickname": "Mo"})
    with pytest.raises(FhirExportError, match="timezone"):
        export({}, authored=datetime(2026, 11, 21, 9, 30))
    with pytest.raises(FhirExportError, match="status"):
        export({}, status="amended")


def test_in_and_several_conditions_export_with_their_behaviour() -> None:
    small = small_questionnaire(
        [
            {
                "linkId": "progressive",
                "text": "Since when?",
                "type": "string",
                "enableWhen": [
                    {"question": "ms_type", "operator": "in", "answer": ["SPMS", "PPMS"]}
                ],
            },
            {
                "linkId": "either",
                "text": "Either?",
                "type": "string",
                "enableBehavior": "any",
                "enableWhen": [
                    {"question": "ms_type", "operator": "=", "answer": "RRMS"},
                    {"question": "born", "operator": "exists", "answer": True},
                ],
            },
        ]
    )
    found = questions(FhirQuestionnaire.model_validate(questionnaire_to_fhir(small)))
    progressive = found["progressive"]
    assert progressive.enableBehavior == "any"
    assert [(c.operator, c.answerCoding.code) for c in progressive.enableWhen] == [
        ("=", "SPMS"),
        ("=", "PPMS"),
    ]
    either = found["either"]
    assert either.enableBehavior == "any"
    assert either.enableWhen[1].answerBoolean is True


@pytest.mark.parametrize(
    "condition",
    [
        {"question": "born", "operator": "age_under", "answer": 18},
        {"question": "born", "operator": ">", "answer": 1990},
        {
            "all": [
                {"question": "ms_type", "operator": "in", "answer": ["SPMS", "PPMS"]},
                {"question": "born", "operator": "exists", "answer": True},
            ]
        },
    ],
)
def test_branching_fhir_cannot_express_is_refused(condition: dict) -> None:
    small = small_questionnaire(
        [{"linkId": "later", "text": "Later?", "type": "string", "enableWhen": [condition]}]
    )
    with pytest.raises(FhirExportError, match="item 'later'"):
        questionnaire_to_fhir(small)


# --- Translations ---------------------------------------------------------------------------

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


def translations_of(element: Any) -> dict[str, str]:
    """The translation extensions on one primitive element (``text__ext`` and the like)."""
    found: dict[str, str] = {}
    for extension in element.extension if element is not None else []:
        assert extension.url == TRANSLATION
        parts = {part.url: part for part in extension.extension}
        assert set(parts) == {"lang", "content"}
        found[parts["lang"].valueCode] = parts["content"].valueString
    return found


def exported_texts(model: FhirQuestionnaire) -> dict[str, tuple[str, dict[str, str]]]:
    """Every text of the export, by where it is: its words and their translations."""
    texts = {"title": (model.title, translations_of(model.title__ext))}
    pending = list(model.item or [])
    while pending:
        item = pending.pop()
        texts[f"{item.linkId}.text"] = (item.text, translations_of(item.text__ext))
        for option in item.answerOption or []:
            coding = option.valueCoding
            texts[f"{item.linkId}.options.{coding.code}"] = (
                coding.display,
                translations_of(coding.display__ext),
            )
        pending.extend(item.item or [])
    return texts


def source_texts(questionnaire: Questionnaire) -> dict[str, str]:
    """Every text of the questionnaire, named as :func:`exported_texts` names them."""
    texts = {"title": questionnaire.title}
    for step in questionnaire.steps:
        texts[f"{step.id}.text"] = step.title
        if step.intro:
            texts[f"{step.id}.intro.text"] = step.intro
    for link_id, item in questionnaire.items.items():
        texts[f"{link_id}.text"] = item.text
        if item.help:
            texts[f"{link_id}.help.text"] = item.help
        texts.update({f"{link_id}.options.{o.code}": o.display for o in item.options})
    return texts


@pytest.fixture
def spanish() -> Questionnaire:
    return load_definition("ms_inquiry", language="es").questionnaire


def test_every_spanish_text_rides_on_the_english_as_a_translation_extension(
    questionnaire: Questionnaire, spanish: Questionnaire
) -> None:
    exported = questionnaire_to_fhir(questionnaire, {"es": spanish})
    texts = exported_texts(FhirQuestionnaire.model_validate(exported))

    english, translated = source_texts(questionnaire), source_texts(spanish)
    assert set(texts) == set(english)
    for where, (text, translations) in texts.items():
        assert text == english[where], where
        if translated[where] == english[where]:  # "No", an EDSS score: nothing to add
            assert translations == {}, where
        else:
            assert translations == {"es": translated[where]}, where
    assert texts["title"][1] == {"es": spanish.title}
    assert texts["diagnosed.options.not_sure"] == ("Not sure", {"es": "No lo sé"})
    assert texts["diagnosis_year.help.text"][1] == {"es": "Basta con un año aproximado."}
    untranslated = {where for where, (_, found) in texts.items() if not found}
    scores = {f"edss.options.{option.code}" for option in questionnaire.items["edss"].options}
    plain_no = {
        f"{link_id}.options.no"
        for link_id, item in questionnaire.items.items()
        if item.options and item.display_for("no") == "No"
    }
    assert untranslated == scores | plain_no


def test_the_translation_extension_has_the_standard_shape(
    questionnaire: Questionnaire, spanish: Questionnaire
) -> None:
    exported = questionnaire_to_fhir(questionnaire, {"es": spanish})

    assert exported["_title"] == {
        "extension": [
            {
                "url": TRANSLATION,
                "extension": [
                    {"url": "lang", "valueCode": "es"},
                    {"url": "content", "valueString": spanish.title},
                ],
            }
        ]
    }
    contact = exported["item"][0]
    filled_by = next(item for item in contact["item"] if item["linkId"] == "filled_by")
    coding = filled_by["answerOption"][0]["valueCoding"]
    assert coding["display"] == "I have MS and I am filling it in for myself"
    [extension] = coding["_display"]["extension"]
    assert extension["extension"][1]["valueString"].startswith("Tengo esclerosis múltiple (EM)")


def test_the_english_export_is_unchanged_beside_its_translations(
    questionnaire: Questionnaire, spanish: Questionnaire
) -> None:
    def without_translations(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_translations(v) for k, v in value.items() if k[0] != "_"}
        if isinstance(value, list):
            return [without_translations(v) for v in value]
        return value

    english = questionnaire_to_fhir(questionnaire)
    assert questionnaire_to_fhir(questionnaire, {}) == english
    assert without_translations(english) == english  # no "_text" or "_display" of its own
    assert without_translations(questionnaire_to_fhir(questionnaire, {"es": spanish})) == english


def test_a_translation_of_another_questionnaire_or_language_code_is_refused(
    questionnaire: Questionnaire, spanish: Questionnaire
) -> None:
    with pytest.raises(FhirExportError, match="translation 'es': is ms-inquiry 2025.1"):
        questionnaire_to_fhir(questionnaire, {"es": replace(spanish, version="2025.1")})
    with pytest.raises(FhirExportError, match="translation 'Spanish': not a language code"):
        questionnaire_to_fhir(questionnaire, {"Spanish": spanish})
    small = small_questionnaire([])
    with pytest.raises(FhirExportError, match="translation 'es': is small 1"):
        questionnaire_to_fhir(questionnaire, {"es": small})
    fewer = replace(spanish, steps=spanish.steps[:-1])
    with pytest.raises(FhirExportError, match="its steps differ"):
        questionnaire_to_fhir(questionnaire, {"es": fewer})
