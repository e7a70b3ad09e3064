"""The FHIR export validates against the R4B models of fhir.resources and keeps its meaning."""

from __future__ import annotations

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
