"""The default eligibility rules, one answer at a time from a baseline that triggers nothing."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.questionnaire.definition import (
    CHOICE_TYPES,
    OUTCOMES,
    load_definition,
    parse_ruleset,
)
from intake.questionnaire.eligibility import evaluate

DEFINITION = load_definition("ms_inquiry")
QUESTIONNAIRE = DEFINITION.questionnaire
RULES = DEFINITION.ruleset
TODAY = date(2026, 11, 21)

# A 46-year-old, diagnosed, walking with a cane, EDSS 4, no exclusion of any kind.
BASELINE = {
    "filled_by": "self",
    "diagnosed": "yes",
    "ms_type": "RRMS",
    "mobility": "cane",
    "edss_known": "yes",
    "edss": "4",
    "on_dmt": "no",
    "relapse_12m": "no",
    "symptoms": ["fatigue", "walking"],
    "prior_stem_cell": "no",
    "date_of_birth": "1980-05-14",
    "cancer_5y": "no",
    "pregnancy": "no",
    "active_infection": "no",
    "blood_thinners": "no",
    "organ_disease": "no",
    "able_to_travel": "yes",
}


def answers_with(**changes):
    """The baseline with some answers changed; ``None`` removes an answer."""
    answers = dict(BASELINE)
    for link_id, value in changes.items():
        if value is None:
            answers.pop(link_id, None)
        else:
            answers[link_id] = value
    return answers


def triggered_ids(result) -> tuple[str, ...]:
    return tuple(rule.id for rule in result.triggered)


def test_the_baseline_triggers_no_rule_and_shows_the_next_step_message():
    result = evaluate(RULES, BASELINE, today=TODAY)

    assert result.outcome == "no_exclusion_found"
    assert result.triggered == ()
    assert result.patient_message == "next_step"


# (id, changed answers, outcome, triggered rule ids, patient message key)
SINGLE_RULE_CASES = [
    (
        "under_18",
        {"date_of_birth": "2010-01-01"},
        "not_eligible",
        ("under_18",),
        "cannot_help_under_18",
    ),
    ("cancer_yes", {"cancer_5y": "yes"}, "not_eligible", ("cancer_5y",), "not_suitable_now"),
    ("cancer_not_sure", {"cancer_5y": "not_sure"}, "needs_review", ("cancer_unsure",), "review"),
    (
        "pregnancy_yes",
        {"pregnancy": "yes"},
        "not_eligible",
        ("pregnancy",),
        "not_suitable_pregnancy",
    ),
    ("infection_yes", {"active_infection": "yes"}, "needs_review", ("active_infection",), "review"),
    (
        "infection_not_sure",
        {"active_infection": "not_sure"},
        "needs_review",
        ("active_infection",),
        "review",
    ),
    (
        "blood_thinners_yes",
        {"blood_thinners": "yes"},
        "needs_review",
        ("blood_thinners",),
        "review",
    ),
    (
        "blood_thinners_not_sure",
        {"blood_thinners": "not_sure"},
        "needs_review",
        ("blood_thinners",),
        "review",
    ),
    ("not_diagnosed", {"diagnosed": "no"}, "needs_review", ("not_diagnosed",), "review"),
    ("diagnosis_not_sure", {"diagnosed": "not_sure"}, "needs_review", ("not_diagnosed",), "review"),
    ("edss_8", {"edss": "8"}, "needs_review", ("advanced_disability",), "review"),
    ("edss_8_5", {"edss": "8.5"}, "needs_review", ("advanced_disability",), "review"),
    ("edss_10", {"edss": "10"}, "needs_review", ("advanced_disability",), "review"),
    ("bed_bound", {"mobility": "bed_bound"}, "needs_review", ("advanced_disability",), "review"),
    (
        "bed_bound_edss_unknown",
        {"mobility": "bed_bound", "edss_known": "no", "edss": None},
        "needs_review",
        ("advanced_disability",),
        "review",
    ),
    ("over_75", {"date_of_birth": "1940-03-03"}, "needs_review", ("over_75",), "review"),
    ("organ_disease_yes", {"organ_disease": "yes"}, "needs_review", ("organ_disease",), "review"),
    (
        "organ_disease_not_sure",
        {"organ_disease": "not_sure"},
        "needs_review",
        ("organ_disease",),
        "review",
    ),
    ("unable_to_travel", {"able_to_travel": "no"}, "needs_review", ("unable_to_travel",), "review"),
    (
        "travel_not_sure",
        {"able_to_travel": "not_sure"},
        "needs_review",
        ("unable_to_travel",),
        "review",
    ),
]


@pytest.mark.parametrize(
    ("changes", "outcome", "rule_ids", "message"),
    [case[1:] for case in SINGLE_RULE_CASES],
    ids=[case[0] for case in SINGLE_RULE_CASES],
)
def test_each_default_rule_triggers_on_its_own_answer(changes, outcome, rule_ids, message):
    result = evaluate(RULES, answers_with(**changes), today=TODAY)

    assert result.outcome == outcome
    assert triggered_ids(result) == rule_ids
    assert result.patient_message == message
    assert all(rule.outcome == outcome and rule.reason for rule in result.triggered)


def test_each_triggered_rule_carries_its_category_words_which_never_repeat_its_reason():
    result = evaluate(RULES, answers_with(active_infection="yes", able_to_travel="no"),
                      today=TODAY)  # fmt: skip

    categories = {rule.id: rule.category for rule in result.triggered}
    assert categories == {
        "active_infection": "Health screening needs a clinician's review",
        "unable_to_travel": "Travel",
    }


CONDITIONS = (
    "cancer",
    "pregnan",
    "breastfeed",
    "infection",
    "hepatitis",
    "hiv",
    "tubercul",
    "blood",
    "bleeding",
    "heart",
    "kidney",
    "liver",
    "edss",
    "bed",
)


def test_no_shipped_category_names_a_health_condition():
    # The category is what coordinators read instead of the reason.
    for key, words in RULES.categories.items():
        assert not [term for term in CONDITIONS if term in words.lower()], key


def test_every_shipped_rule_has_a_single_rule_case():
    covered = {rule_id for case in SINGLE_RULE_CASES for rule_id in case[3]}

    assert covered == {rule.id for rule in RULES.rules}


# Answers that look close to a rule but must not trigger anything.
NON_TRIGGERING_CASES = [
    ("edss_7_5", {"edss": "7.5"}),
    ("edss_0", {"edss": "0"}),
    ("wheelchair_full_time", {"mobility": "wheelchair_full_time"}),
    ("edss_unknown_and_absent", {"edss_known": "no", "edss": None}),
    ("pregnancy_not_applicable", {"pregnancy": "not_applicable"}),
    ("ms_type_not_sure", {"ms_type": "not_sure"}),
    ("relapse_and_prior_stem_cells", {"relapse_12m": "yes", "prior_stem_cell": "yes"}),
    ("not_sure_about_dmt", {"on_dmt": "not_sure"}),
    ("caregiver_filling_in", {"filled_by": "someone_else"}),
    ("unanswered_health_questions", {"cancer_5y": None, "pregnancy": None, "diagnosed": None}),
]


@pytest.mark.parametrize(
    "changes",
    [case[1] for case in NON_TRIGGERING_CASES],
    ids=[case[0] for case in NON_TRIGGERING_CASES],
)
def test_answers_next_to_a_rule_find_no_exclusion(changes):
    result = evaluate(RULES, answers_with(**changes), today=TODAY)

    assert result.outcome == "no_exclusion_found"
    assert result.triggered == ()
    assert result.patient_message == "next_step"


# (id, date of birth, today, triggered rule ids)
AGE_CASES = [
    ("18_today", "2008-11-21", TODAY, ()),
    ("18_tomorrow", "2008-11-22", TODAY, ("under_18",)),
    ("18_yesterday", "2008-11-20", TODAY, ()),
    ("born_today", "2026-11-21", TODAY, ("under_18",)),
    ("leap_day_birthday_17_on_28_february", "2008-02-29", date(2026, 2, 28), ("under_18",)),
    ("leap_day_birthday_18_on_1_march", "2008-02-29", date(2026, 3, 1), ()),
    ("18_on_29_february_when_born_28_february", "2010-02-28", date(2028, 2, 29), ()),
    ("17_on_29_february_when_born_1_march", "2010-03-01", date(2028, 2, 29), ("under_18",)),
    ("leap_day_birthday_on_fixed_today", "2008-02-29", TODAY, ()),
    ("75_today", "1951-11-21", TODAY, ()),
    ("75_and_364_days", "1950-11-22", TODAY, ()),
    ("76_today", "1950-11-21", TODAY, ("over_75",)),
    ("leap_day_birthday_75_on_28_february", "1952-02-29", date(2028, 2, 28), ()),
    ("leap_day_birthday_76_on_29_february", "1952-02-29", date(2028, 2, 29), ("over_75",)),
    ("75_on_27_february_when_born_28_february", "1951-02-28", date(2027, 2, 27), ()),
    ("76_on_28_february_of_a_common_year", "1951-02-28", date(2027, 2, 28), ("over_75",)),
]


@pytest.mark.parametrize(
    ("born", "today", "rule_ids"),
    [case[1:] for case in AGE_CASES],
    ids=[case[0] for case in AGE_CASES],
)
def test_age_rules_count_whole_years_on_the_day(born, today, rule_ids):
    result = evaluate(RULES, answers_with(date_of_birth=born), today=today)

    assert triggered_ids(result) == rule_ids


def test_under_18_is_not_eligible_with_the_kind_adults_only_message():
    result = evaluate(RULES, answers_with(date_of_birth="2008-11-22"), today=TODAY)

    assert result.outcome == "not_eligible"
    assert result.patient_message == "cannot_help_under_18"


# (id, changed answers, outcome, triggered rule ids in file order, patient message key)
COMBINATION_CASES = [
    (
        "review_and_exclusion_is_not_eligible",
        {"blood_thinners": "yes", "cancer_5y": "yes"},
        "not_eligible",
        ("cancer_5y", "blood_thinners"),
        "not_suitable_now",
    ),
    (
        "under_18_message_wins_over_cancer",
        {"date_of_birth": "2012-06-01", "cancer_5y": "yes"},
        "not_eligible",
        ("under_18", "cancer_5y"),
        "cannot_help_under_18",
    ),
    (
        "cancer_message_wins_over_pregnancy",
        {"pregnancy": "yes", "cancer_5y": "yes"},
        "not_eligible",
        ("cancer_5y", "pregnancy"),
        "not_suitable_now",
    ),
    (
        "pregnancy_with_unsure_cancer_is_not_eligible",
        {"pregnancy": "yes", "cancer_5y": "not_sure"},
        "not_eligible",
        ("pregnancy", "cancer_unsure"),
        "not_suitable_pregnancy",
    ),
    (
        "several_reviews_are_all_listed",
        {
            "active_infection": "yes",
            "mobility": "bed_bound",
            "organ_disease": "not_sure",
            "able_to_travel": "no",
        },
        "needs_review",
        ("active_infection", "advanced_disability", "organ_disease", "unable_to_travel"),
        "review",
    ),
    (
        "every_review_at_once",
        {
            "cancer_5y": "not_sure",
            "active_infection": "not_sure",
            "blood_thinners": "yes",
            "diagnosed": "not_sure",
            "edss": "9.5",
            "date_of_birth": "1930-01-01",
            "organ_disease": "yes",
            "able_to_travel": "not_sure",
        },
        "needs_review",
        (
            "cancer_unsure",
            "active_infection",
            "blood_thinners",
            "not_diagnosed",
            "advanced_disability",
            "over_75",
            "organ_disease",
            "unable_to_travel",
        ),
        "review",
    ),
    (
        "edss_and_bed_bound_trigger_one_rule",
        {"edss": "9", "mobility": "bed_bound"},
        "needs_review",
        ("advanced_disability",),
        "review",
    ),
]


@pytest.mark.parametrize(
    ("changes", "outcome", "rule_ids", "message"),
    [case[1:] for case in COMBINATION_CASES],
    ids=[case[0] for case in COMBINATION_CASES],
)
def test_the_most_severe_rule_decides_and_every_triggered_rule_is_listed(
    changes, outcome, rule_ids, message
):
    result = evaluate(RULES, answers_with(**changes), today=TODAY)

    assert result.outcome == outcome
    assert triggered_ids(result) == rule_ids
    assert result.patient_message == message


def test_an_edss_answer_left_over_after_edss_known_no_is_dropped_and_triggers_nothing():
    answers = answers_with(edss_known="no", edss="9")

    result = evaluate(RULES, QUESTIONNAIRE.visible_answers(answers, today=TODAY), today=TODAY)

    assert result.outcome == "no_exclusion_found"
    assert result.triggered == ()


def test_the_result_carries_the_rule_set_id_and_version():
    result = evaluate(RULES, answers_with(cancer_5y="yes"), today=TODAY)

    assert (result.ruleset_id, result.ruleset_version) == ("ms-eligibility", "2026.11.1")


# --- Properties -----------------------------------------------------------------------------


def _choice_answer(item):
    codes = [option.code for option in item.options]
    if item.type == "multi_choice":
        return st.lists(st.sampled_from(codes), unique=True)
    return st.sampled_from(codes)


CHOICE_ITEMS = [item for item in QUESTIONNAIRE.items.values() if item.type in CHOICE_TYPES]
SEVERITY = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}


@st.composite
def answer_sets(draw):
    answers = {}
    for item in CHOICE_ITEMS:
        if draw(st.booleans()):
            answers[item.link_id] = draw(_choice_answer(item))
    if draw(st.booleans()):
        born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
        answers["date_of_birth"] = born.isoformat()
    return answers


def _years_before(today: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 29 February becomes 28 February."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


@settings(max_examples=300, deadline=None, database=None)
@given(
    answers=answer_sets(), today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
)
def test_the_outcome_is_always_the_most_severe_triggered_rule(answers, today):
    result = evaluate(RULES, answers, today=today)

    assert result.outcome in OUTCOMES
    assert result.ruleset_version == RULES.version
    assert result.ruleset_id == RULES.id
    outcomes = [rule.outcome for rule in result.triggered]
    if not outcomes:
        assert result.outcome == "no_exclusion_found"
        assert result.patient_message == "next_step"
    else:
        assert result.outcome == max(outcomes, key=SEVERITY.__getitem__)
        first = next(rule for rule in result.triggered if rule.outcome == result.outcome)
        shipped = {rule.id: rule for rule in RULES.rules}
        assert result.patient_message == shipped[first.id].patient_message
    order = [rule.id for rule in RULES.rules]
    assert [order.index(rule_id) for rule_id in triggered_ids(result)] == sorted(
        order.index(rule_id) for rule_id in triggered_ids(result)
    )


@settings(max_examples=300, deadline=None, database=None)
@given(
    answers=answer_sets(), today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
)
def test_only_under_18_cancer_or_pregnancy_make_an_inquiry_not_eligible(answers, today):
    born = answers.get("date_of_birth")
    under_18 = born is not None and date.fromisoformat(born) > _years_before(today, 18)
    excluded = under_18 or answers.get("cancer_5y") == "yes" or answers.get("pregnancy") == "yes"

    result = evaluate(RULES, answers, today=today)

    assert (result.outcome == "not_eligible") == excluded


# --- Garbage in -----------------------------------------------------------------------------

GARBAGE = [
    pytest.param(5, id="int"),
    pytest.param(-3.5, id="float"),
    pytest.param(float("nan"), id="nan"),
    pytest.param(float("inf"), id="infinity"),
    pytest.param(10**400, id="int_too_large_for_float"),
    pytest.param(True, id="bool"),
    pytest.param(["yes", "not_sure"], id="list"),
    pytest.param([["nested"]], id="nested_list"),
    pytest.param({"answer": "yes"}, id="dict"),
    pytest.param(b"yes", id="bytes"),
    pytest.param(object(), id="object"),
    pytest.param(date(1990, 1, 1), id="date_object"),
    pytest.param("2008-02-30", id="impossible_date"),
    pytest.param("31/12/1990", id="unparseable_date"),
    pytest.param("yesterday", id="word"),
    pytest.param("", id="empty_string"),
    pytest.param(" ", id="blank"),
]

# Every operator the engine knows, on real questions, so a clinic's own rules are covered too.
EVERY_OPERATOR_RULES = parse_ruleset(
    {
        "id": "every-operator",
        "version": "1",
        "questionnaire": QUESTIONNAIRE.id,
        "messages": {"next_step": "Next.", "review": "Review."},
        "categories": {"testing": "Testing"},
        "rules": [
            {
                "id": f"rule_{number}",
                "when": when,
                "outcome": "needs_review",
                "reason": "Testing.",
                "category": "testing",
                "patient_message": "review",
            }
            for number, when in enumerate(
                [
                    {"question": "diagnosed", "operator": "=", "answer": "yes"},
                    {"question": "diagnosed", "operator": "!=", "answer": "yes"},
                    {"question": "diagnosed", "operator": "in", "answer": ["no", "not_sure"]},
                    {"question": "edss", "operator": ">", "answer": 6},
                    {"question": "edss", "operator": ">=", "answer": 6},
                    {"question": "diagnosis_year", "operator": "<", "answer": 2000},
                    {"question": "diagnosis_year", "operator": "<=", "answer": 2000},
                    {"question": "symptoms", "operator": "contains", "answer": "pain"},
                    {"question": "dmt_name", "operator": "exists", "answer": True},
                    {"question": "dmt_name", "operator": "exists", "answer": False},
                    {"question": "date_of_birth", "operator": "age_under", "answer": 18},
                    {"question": "date_of_birth", "operator": "age_over", "answer": 75},
                    {
                        "any": [
                            {"question": "edss", "operator": ">=", "answer": 8},
                            {
                                "all": [
                                    {"question": "mobility", "operator": "=", "answer": "bed_bound"}
                                ]
                            },
                        ]
                    },
                ]
            )
        ],
    },
    QUESTIONNAIRE,
)
ANSWERED_QUESTIONS = sorted(
    {
        "diagnosed",
        "edss",
        "diagnosis_year",
        "symptoms",
        "dmt_name",
        "date_of_birth",
        "mobility",
        *BASELINE,
    }
)


@pytest.mark.parametrize("ruleset", [RULES, EVERY_OPERATOR_RULES], ids=["shipped", "every_op"])
@pytest.mark.parametrize("value", GARBAGE)
def test_evaluate_never_raises_for_a_garbage_answer_to_any_question(ruleset, value):
    for link_id in ANSWERED_QUESTIONS:
        result = evaluate(ruleset, answers_with(**{link_id: value}), today=TODAY)

        assert result.outcome in OUTCOMES


def test_an_unparseable_date_of_birth_triggers_no_age_rule():
    for born in ("2008-02-30", "31/12/1990", "not a date", "1990"):
        result = evaluate(RULES, answers_with(date_of_birth=born), today=TODAY)

        assert result.triggered == (), born


GARBAGE_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary()
    | st.dates()
    | st.dates().map(date.isoformat),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    answers=st.dictionaries(
        st.sampled_from([*ANSWERED_QUESTIONS, "no_such_question"]), GARBAGE_VALUES
    )
)
def test_evaluate_never_raises_for_random_garbage_answers(answers):
    for ruleset in (RULES, EVERY_OPERATOR_RULES):
        assert evaluate(ruleset, answers, today=TODAY).outcome in OUTCOMES
