"""The loader rejects a malformed questionnaire or rule set, naming the offending item or rule."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from intake.questionnaire.definition import (
    DEFINITIONS,
    LEAD_COLUMNS,
    DefinitionError,
    load_definition,
    parse_questionnaire,
    parse_ruleset,
)

QUESTIONNAIRE_YAML = yaml.safe_load((DEFINITIONS / "ms_inquiry.yaml").read_text())
RULES_YAML = yaml.safe_load((DEFINITIONS / "ms_eligibility.yaml").read_text())


def item(raw: dict, link_id: str) -> dict:
    return next(i for step in raw["steps"] for i in step["items"] if i["linkId"] == link_id)


def step(raw: dict, step_id: str) -> dict:
    return next(s for s in raw["steps"] if s["id"] == step_id)


def rule(raw: dict, rule_id: str) -> dict:
    return next(r for r in raw["rules"] if r["id"] == rule_id)


# --- The shipped definition -----------------------------------------------------------------


def test_the_shipped_definition_loads_with_its_four_steps_in_order():
    definition = load_definition("ms_inquiry")

    assert [s.id for s in definition.questionnaire.steps] == [
        "contact",
        "about_ms",
        "health",
        "consent",
    ]
    assert definition.ruleset.questionnaire_id == definition.questionnaire.id == "ms-inquiry"


def test_the_shipped_yaml_parses_to_the_same_items_as_the_cached_definition():
    parsed = parse_questionnaire(copy.deepcopy(QUESTIONNAIRE_YAML))

    assert list(parsed.items) == list(load_definition("ms_inquiry").questionnaire.items)


def test_a_step_names_itself_in_the_review_pages_link_back_to_it():
    raw = copy.deepcopy(QUESTIONNAIRE_YAML)
    del step(raw, "health")["change"]
    parsed = parse_questionnaire(raw)

    assert parsed.step("about_ms").change == "Change your answers about your MS"
    assert parsed.step("health").change == "Change your answers to “Health screening”"


def test_no_health_item_is_stored_in_a_lead_column():
    items = load_definition("ms_inquiry").questionnaire.items.values()
    health = [i for i in items if i.health]

    assert len(health) > 10
    assert [i.link_id for i in health if i.store is not None] == []


def test_contact_details_are_stored_in_lead_columns_and_ms_type_is_promoted():
    items = load_definition("ms_inquiry").questionnaire.items

    assert {i.store for i in items.values() if i.store} <= LEAD_COLUMNS
    assert items["email"].store == "email"
    assert items["ms_type"].store is None
    assert items["ms_type"].promote == "ms_type"


def test_every_item_depends_only_on_items_asked_before_it():
    questionnaire = load_definition("ms_inquiry").questionnaire
    order = list(questionnaire.items)

    for link_id, entry in questionnaire.items.items():
        for condition in entry.enable_when:
            assert order.index(condition["question"]) < order.index(link_id), link_id


# --- A broken questionnaire -----------------------------------------------------------------


def _unknown_type(raw):
    item(raw, "diagnosis_year")["type"] = "number"


def _duplicate_link_id(raw):
    step(raw, "consent")["items"].append({"linkId": "email", "text": "Again?", "type": "email"})


def _choice_without_options(raw):
    del item(raw, "relapse_12m")["options"]


def _choice_with_empty_options(raw):
    item(raw, "preferred_contact_time")["options"] = []


def _options_on_a_text_item(raw):
    item(raw, "region")["options"] = [{"code": "north", "display": "North"}]


def _enable_when_unknown_question(raw):
    item(raw, "dmt_name")["enableWhen"] = [
        {"question": "on_dmtt", "operator": "=", "answer": "yes"}
    ]


def _enable_when_later_question(raw):
    item(raw, "diagnosed")["enableWhen"] = [
        {"question": "date_of_birth", "operator": "exists", "answer": True}
    ]


def _enable_when_itself(raw):
    item(raw, "symptoms_other")["enableWhen"] = [
        {"question": "symptoms_other", "operator": "exists", "answer": True}
    ]


def _enable_when_unknown_option(raw):
    item(raw, "edss")["enableWhen"] = [
        {"question": "edss_known", "operator": "=", "answer": "maybe"}
    ]


def _enable_when_unquoted_yes(raw):
    # YAML reads an unquoted yes as True, which is not the option code "yes".
    item(raw, "dmt_name")["enableWhen"] = [{"question": "on_dmt", "operator": "=", "answer": True}]


def _enable_when_unknown_operator(raw):
    item(raw, "edss")["enableWhen"] = [
        {"question": "edss_known", "operator": "equals", "answer": "yes"}
    ]


def _enable_when_not_a_mapping(raw):
    item(raw, "prior_stem_cell_when")["enableWhen"] = ["prior_stem_cell = yes"]


def _store_not_a_lead_column(raw):
    item(raw, "region")["store"] = "county"


def _promote_not_a_lead_column(raw):
    item(raw, "ms_type")["promote"] = "diagnosis"


def _health_item_stored(raw):
    item(raw, "diagnosed")["store"] = "ms_type"


def _item_without_text(raw):
    del item(raw, "postal_code")["text"]


def _unknown_enable_behavior(raw):
    item(raw, "edss")["enableBehavior"] = "either"


# (id, mutation, fragments the message must contain)
QUESTIONNAIRE_CASES = [
    ("unknown_item_type", _unknown_type, ["item 'diagnosis_year'", "unknown type 'number'"]),
    ("duplicate_link_id", _duplicate_link_id, ["item 'email'", "used twice"]),
    ("choice_without_options", _choice_without_options, ["item 'relapse_12m'", "options"]),
    (
        "choice_with_empty_options",
        _choice_with_empty_options,
        ["item 'preferred_contact_time'", "options"],
    ),
    ("options_on_a_text_item", _options_on_a_text_item, ["item 'region'", "options"]),
    (
        "enable_when_unknown_question",
        _enable_when_unknown_question,
        ["item 'dmt_name'", "'on_dmtt'"],
    ),
    (
        "enable_when_later_question",
        _enable_when_later_question,
        ["item 'diagnosed'", "'date_of_birth'"],
    ),
    ("enable_when_itself", _enable_when_itself, ["item 'symptoms_other'", "'symptoms_other'"]),
    (
        "enable_when_unknown_option",
        _enable_when_unknown_option,
        ["item 'edss'", "'edss_known'", "'maybe'"],
    ),
    ("enable_when_unquoted_yes", _enable_when_unquoted_yes, ["item 'dmt_name'", "True"]),
    (
        "enable_when_unknown_operator",
        _enable_when_unknown_operator,
        ["item 'edss'", "unknown operator 'equals'"],
    ),
    (
        "enable_when_not_a_mapping",
        _enable_when_not_a_mapping,
        ["item 'prior_stem_cell_when'", "mapping"],
    ),
    (
        "store_not_a_lead_column",
        _store_not_a_lead_column,
        ["item 'region'", "'county' is not a lead column"],
    ),
    (
        "promote_not_a_lead_column",
        _promote_not_a_lead_column,
        ["item 'ms_type'", "'diagnosis' is not a lead column"],
    ),
    ("health_item_stored", _health_item_stored, ["item 'diagnosed'", "health"]),
    ("item_without_text", _item_without_text, ["item 'postal_code'", "'text' is missing"]),
    ("unknown_enable_behavior", _unknown_enable_behavior, ["item 'edss'", "enableBehavior"]),
]


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [case[1:] for case in QUESTIONNAIRE_CASES],
    ids=[case[0] for case in QUESTIONNAIRE_CASES],
)
def test_a_bad_questionnaire_is_rejected_naming_the_item(mutate, fragments):
    raw = copy.deepcopy(QUESTIONNAIRE_YAML)
    mutate(raw)

    with pytest.raises(DefinitionError) as caught:
        parse_questionnaire(raw)

    for fragment in fragments:
        assert fragment in str(caught.value)


# --- A broken rule set ----------------------------------------------------------------------


def _unknown_outcome(raw):
    rule(raw, "over_75")["outcome"] = "excluded"


def _no_exclusion_as_a_rule_outcome(raw):
    rule(raw, "over_75")["outcome"] = "no_exclusion_found"


def _missing_patient_message(raw):
    del rule(raw, "pregnancy")["patient_message"]


def _undefined_patient_message(raw):
    rule(raw, "pregnancy")["patient_message"] = "not_suitable_ever"


def _missing_reason(raw):
    del rule(raw, "organ_disease")["reason"]


def _unknown_question(raw):
    rule(raw, "blood_thinners")["when"] = {
        "question": "anticoagulants",
        "operator": "=",
        "answer": "yes",
    }


def _unknown_question_inside_any(raw):
    rule(raw, "advanced_disability")["when"]["any"][0] = {
        "question": "edss_score",
        "operator": ">=",
        "answer": 8,
    }


def _unknown_option(raw):
    rule(raw, "cancer_unsure")["when"] = {
        "question": "cancer_5y",
        "operator": "=",
        "answer": "unsure",
    }


def _unknown_option_in_list(raw):
    rule(raw, "active_infection")["when"] = {
        "question": "active_infection",
        "operator": "in",
        "answer": ["yes", "maybe"],
    }


def _unknown_rule_operator(raw):
    rule(raw, "under_18")["when"] = {
        "question": "date_of_birth",
        "operator": "younger_than",
        "answer": 18,
    }


def _empty_any(raw):
    rule(raw, "advanced_disability")["when"] = {"any": []}


def _duplicate_rule_id(raw):
    rule(raw, "cancer_unsure")["id"] = "cancer_5y"


def _in_without_a_list(raw):
    rule(raw, "over_75")["when"] = {"question": "diagnosis_year", "operator": "in"}


def _age_limit_as_text(raw):
    rule(raw, "under_18")["when"] = {
        "question": "date_of_birth",
        "operator": "age_under",
        "answer": "18",
    }


def _comparison_with_a_word(raw):
    rule(raw, "advanced_disability")["when"] = {
        "question": "edss",
        "operator": ">=",
        "answer": "eight",
    }


def _missing_when(raw):
    del rule(raw, "unable_to_travel")["when"]


def _missing_category(raw):
    del rule(raw, "active_infection")["category"]


def _unknown_category(raw):
    rule(raw, "active_infection")["category"] = "infections"


def _missing_categories(raw):
    del raw["categories"]


def _categories_as_a_list(raw):
    raw["categories"] = ["age", "travel"]


def _category_without_words(raw):
    raw["categories"]["travel"] = " "


# (id, mutation, fragments the message must contain)
RULESET_CASES = [
    ("missing_category", _missing_category, ["rule 'active_infection'", "'category' is missing"]),
    ("unknown_category", _unknown_category, ["rule 'active_infection'", "'infections'"]),
    ("missing_categories", _missing_categories, ["rule set", "'categories' is missing"]),
    ("categories_as_a_list", _categories_as_a_list, ["rule set", "'categories'"]),
    ("category_without_words", _category_without_words, ["category 'travel'"]),
    ("unknown_outcome", _unknown_outcome, ["rule 'over_75'", "outcome"]),
    (
        "no_exclusion_as_a_rule_outcome",
        _no_exclusion_as_a_rule_outcome,
        ["rule 'over_75'", "outcome"],
    ),
    (
        "missing_patient_message",
        _missing_patient_message,
        ["rule 'pregnancy'", "'patient_message' is missing"],
    ),
    (
        "undefined_patient_message",
        _undefined_patient_message,
        ["rule 'pregnancy'", "'not_suitable_ever'"],
    ),
    ("missing_reason", _missing_reason, ["rule 'organ_disease'", "'reason' is missing"]),
    ("unknown_question", _unknown_question, ["rule 'blood_thinners'", "'anticoagulants'"]),
    (
        "unknown_question_inside_any",
        _unknown_question_inside_any,
        ["rule 'advanced_disability'", "'edss_score'"],
    ),
    ("unknown_option", _unknown_option, ["rule 'cancer_unsure'", "'unsure'"]),
    ("unknown_option_in_list", _unknown_option_in_list, ["rule 'active_infection'", "'maybe'"]),
    ("unknown_operator", _unknown_rule_operator, ["rule 'under_18'", "'younger_than'"]),
    ("empty_any", _empty_any, ["rule 'advanced_disability'", "'any'"]),
    ("duplicate_rule_id", _duplicate_rule_id, ["rule 'cancer_5y'", "used twice"]),
    ("in_without_a_list", _in_without_a_list, ["rule 'over_75'", "'in'"]),
    ("age_limit_as_text", _age_limit_as_text, ["rule 'under_18'", "number"]),
    ("comparison_with_a_word", _comparison_with_a_word, ["rule 'advanced_disability'", "number"]),
    ("missing_when", _missing_when, ["rule 'unable_to_travel'", "'when' is missing"]),
]


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [case[1:] for case in RULESET_CASES],
    ids=[case[0] for case in RULESET_CASES],
)
def test_a_bad_rule_set_is_rejected_naming_the_rule(mutate, fragments):
    questionnaire = parse_questionnaire(copy.deepcopy(QUESTIONNAIRE_YAML))
    raw = copy.deepcopy(RULES_YAML)
    mutate(raw)

    with pytest.raises(DefinitionError) as caught:
        parse_ruleset(raw, questionnaire)

    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize("key", ["next_step", "review"])
def test_a_rule_set_without_a_default_message_is_rejected(key):
    questionnaire = parse_questionnaire(copy.deepcopy(QUESTIONNAIRE_YAML))
    raw = copy.deepcopy(RULES_YAML)
    del raw["messages"][key]

    with pytest.raises(DefinitionError, match=re.escape(f"'{key}' is missing")):
        parse_ruleset(raw, questionnaire)


def test_a_rule_set_written_for_another_questionnaire_is_rejected():
    questionnaire = parse_questionnaire(copy.deepcopy(QUESTIONNAIRE_YAML))
    raw = copy.deepcopy(RULES_YAML)
    raw["questionnaire"] = "ms-inquiry-v0"

    with pytest.raises(DefinitionError, match="ms-inquiry-v0"):
        parse_ruleset(raw, questionnaire)


def test_a_rule_may_read_a_question_from_any_step():
    # Only items are restricted to earlier questions; rules see the whole questionnaire.
    questionnaire = parse_questionnaire(copy.deepcopy(QUESTIONNAIRE_YAML))
    raw = copy.deepcopy(RULES_YAML)
    raw["rules"].append(
        {
            "id": "no_privacy_notice",
            "outcome": "needs_review",
            "when": {"question": "privacy_notice", "operator": "exists", "answer": False},
            "reason": "Testing.",
            "category": "health_review",
            "patient_message": "review",
        }
    )

    ruleset = parse_ruleset(raw, questionnaire)

    assert ruleset.rules[-1].id == "no_privacy_notice"


def test_a_missing_definition_file_is_a_definition_error(tmp_path):
    with pytest.raises(DefinitionError, match="cannot read the definition 'ms_inquiry'"):
        load_definition("ms_inquiry", tmp_path)


def test_a_definition_with_bad_yaml_is_a_definition_error(tmp_path):
    (tmp_path / "ms_inquiry.yaml").write_text("id: [unclosed\n")
    (tmp_path / "ms_eligibility.yaml").write_text((DEFINITIONS / "ms_eligibility.yaml").read_text())

    with pytest.raises(DefinitionError, match="cannot read the definition"):
        load_definition("ms_inquiry", tmp_path)
