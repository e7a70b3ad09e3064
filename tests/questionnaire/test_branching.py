"""Which questions are shown, and which answers are kept, for a given set of answers."""

from __future__ import annotations

import copy
from datetime import date

import pytest
import yaml

from intake.questionnaire.definition import DEFINITIONS, load_definition, parse_questionnaire

QUESTIONNAIRE = load_definition("ms_inquiry").questionnaire
TODAY = date(2026, 11, 21)
CAREGIVER_ITEMS = [
    "caregiver_first_name",
    "caregiver_last_name",
    "caregiver_relationship",
    "caregiver_email",
    "caregiver_phone",
]


def shown(link_id: str, answers: dict) -> bool:
    return QUESTIONNAIRE.items[link_id].is_enabled(answers, today=TODAY)


@pytest.mark.parametrize("link_id", CAREGIVER_ITEMS)
@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"filled_by": "someone_else"}, True),
        ({"filled_by": "self"}, False),
        ({}, False),
    ],
    ids=["someone_else", "self", "unanswered"],
)
def test_caregiver_questions_are_shown_only_to_someone_filling_in_for_another(
    link_id, answers, expected
):
    assert shown(link_id, answers) is expected


# (id, item, answers, shown)
CONDITIONAL_CASES = [
    ("edss_when_known", "edss", {"edss_known": "yes"}, True),
    ("edss_when_unknown", "edss", {"edss_known": "no"}, False),
    ("edss_unanswered", "edss", {}, False),
    ("dmt_name_on_dmt", "dmt_name", {"on_dmt": "yes"}, True),
    ("dmt_name_not_on_dmt", "dmt_name", {"on_dmt": "no"}, False),
    ("dmt_name_not_sure", "dmt_name", {"on_dmt": "not_sure"}, False),
    ("dmt_name_unanswered", "dmt_name", {}, False),
    ("symptoms_other_with_other", "symptoms_other", {"symptoms": ["fatigue", "other"]}, True),
    ("symptoms_other_only_other", "symptoms_other", {"symptoms": ["other"]}, True),
    ("symptoms_other_without_other", "symptoms_other", {"symptoms": ["fatigue", "pain"]}, False),
    ("symptoms_other_no_symptoms", "symptoms_other", {"symptoms": []}, False),
    ("symptoms_other_unanswered", "symptoms_other", {}, False),
    ("prior_stem_cell_when_yes", "prior_stem_cell_when", {"prior_stem_cell": "yes"}, True),
    ("prior_stem_cell_when_no", "prior_stem_cell_when", {"prior_stem_cell": "no"}, False),
    ("prior_stem_cell_when_unanswered", "prior_stem_cell_when", {}, False),
]


@pytest.mark.parametrize(
    ("link_id", "answers", "expected"),
    [case[1:] for case in CONDITIONAL_CASES],
    ids=[case[0] for case in CONDITIONAL_CASES],
)
def test_a_follow_up_question_is_shown_only_after_the_answer_it_follows(link_id, answers, expected):
    assert shown(link_id, answers) is expected


def test_questions_without_conditions_are_always_shown():
    unconditional = [i.link_id for i in QUESTIONNAIRE.items.values() if not i.enable_when]

    assert {"filled_by", "email", "edss_known", "date_of_birth", "privacy_notice"} <= set(
        unconditional
    )
    assert all(shown(link_id, {}) for link_id in unconditional)


def test_exactly_the_documented_items_are_conditional():
    conditional = {i.link_id for i in QUESTIONNAIRE.items.values() if i.enable_when}

    assert conditional == {
        *CAREGIVER_ITEMS,
        "edss",
        "dmt_name",
        "symptoms_other",
        "prior_stem_cell_when",
    }


def test_a_caregivers_answers_are_kept_when_someone_else_fills_in_the_form():
    answers = {
        "filled_by": "someone_else",
        "first_name": "Maria",
        "caregiver_first_name": "Ana",
        "caregiver_email": "ana@example.org",
        "edss_known": "yes",
        "edss": "6.5",
        "on_dmt": "yes",
        "dmt_name": "Ocrevus",
        "symptoms": ["other"],
        "symptoms_other": "Headaches",
        "prior_stem_cell": "yes",
        "prior_stem_cell_when": "2019, Panama",
    }

    assert QUESTIONNAIRE.visible_answers(answers, today=TODAY) == answers


def test_visible_answers_drops_answers_to_hidden_items_and_unknown_link_ids():
    answers = {
        "filled_by": "self",
        "first_name": "Maria",
        "caregiver_first_name": "Ana",
        "caregiver_phone": "+1 555 0100",
        "edss_known": "no",
        "edss": "9",
        "on_dmt": "no",
        "dmt_name": "Ocrevus",
        "symptoms": ["fatigue"],
        "symptoms_other": "Headaches",
        "prior_stem_cell": "no",
        "prior_stem_cell_when": "2019",
        "favourite_colour": "blue",
        "csrf_token": "x",
    }

    visible = QUESTIONNAIRE.visible_answers(answers, today=TODAY)

    assert visible == {
        "filled_by": "self",
        "first_name": "Maria",
        "edss_known": "no",
        "on_dmt": "no",
        "symptoms": ["fatigue"],
        "prior_stem_cell": "no",
    }


def test_visible_answers_drops_follow_ups_whose_question_is_unanswered():
    answers = {"caregiver_first_name": "Ana", "edss": "4", "dmt_name": "Tecfidera"}

    assert QUESTIONNAIRE.visible_answers(answers, today=TODAY) == {}


def test_visible_answers_does_not_change_the_answers_it_is_given():
    answers = {"filled_by": "self", "caregiver_first_name": "Ana"}

    QUESTIONNAIRE.visible_answers(answers, today=TODAY)

    assert answers == {"filled_by": "self", "caregiver_first_name": "Ana"}


def test_an_answer_that_depends_on_a_hidden_answer_is_dropped_too():
    # A clinic adds "when was that EDSS score given?", shown once an EDSS score is answered.
    raw = yaml.safe_load((DEFINITIONS / "ms_inquiry.yaml").read_text())
    about_ms = next(step for step in raw["steps"] if step["id"] == "about_ms")
    position = next(n for n, i in enumerate(about_ms["items"]) if i["linkId"] == "edss") + 1
    about_ms["items"].insert(
        position,
        {
            "linkId": "edss_date",
            "text": "When was that score given?",
            "type": "date",
            "health": True,
            "enableWhen": [{"question": "edss", "operator": "exists", "answer": True}],
        },
    )
    questionnaire = parse_questionnaire(copy.deepcopy(raw))
    stale = {"edss_known": "no", "edss": "6", "edss_date": "2025-01-10"}
    current = {"edss_known": "yes", "edss": "6", "edss_date": "2025-01-10"}

    assert questionnaire.visible_answers(stale, today=TODAY) == {"edss_known": "no"}
    assert questionnaire.visible_answers(current, today=TODAY) == current
