"""A translation lays words over the questionnaire and the patient messages, and nothing else:
its gaps are listed, its mistakes refused with their place named, and the shipped Spanish is
complete and means the same questionnaire as the English."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any

import pytest
import yaml

from intake.questionnaire.definition import (
    DEFINITIONS,
    DefinitionError,
    Option,
    load_definition,
    parse_questionnaire,
    parse_ruleset,
)
from intake.questionnaire.translation import missing, translate_questionnaire, translate_ruleset

SOURCE = {
    "id": "small",
    "version": "3",
    "title": "Small inquiry",
    "steps": [
        {
            "id": "first",
            "title": "First",
            "intro": "Hello.",
            "change": "Change the first answers",
            "items": [
                {
                    "linkId": "treated",
                    "text": "Treated before?",
                    "help": "Any treatment.",
                    "type": "choice",
                    "required": True,
                    "options": [
                        {"code": "yes", "display": "Yes"},
                        {"code": "no", "display": "No"},
                    ],
                },
                {"linkId": "born", "text": "Born on?", "type": "date"},
            ],
        },
        {
            "id": "second",
            "title": "Second",
            "items": [
                {
                    "linkId": "when",
                    "text": "When?",
                    "type": "year",
                    "enableWhen": [{"question": "treated", "operator": "=", "answer": "yes"}],
                }
            ],
        },
    ],
}
RULES = {
    "id": "small-rules",
    "version": "7",
    "questionnaire": "small",
    "categories": {"age": "Age"},
    "rules": [
        {
            "id": "young",
            "when": {"question": "born", "operator": "age_under", "answer": 18},
            "outcome": "not_eligible",
            "reason": "Under 18.",
            "category": "age",
            "patient_message": "cannot_help",
        }
    ],
    "messages": {
        "next_step": "{clinic} will call {response_time}.",
        "review": "We will look at your answers.",
        "cannot_help": "Sorry: {clinic} treats adults only.",
    },
}
WORDS = {
    "version": "3",
    "title": "Solicitud pequeña",
    "steps": {
        "first": {"title": "Primero", "intro": "Hola.", "change": "Cambiar las primeras"},
        "second": {"title": "Segundo", "change": "Cambiar las segundas"},
    },
    "items": {
        "treated": {
            "text": "¿Tratamiento antes?",
            "help": "Cualquier tratamiento.",
            "options": {"yes": "Sí", "no": "No"},
        },
        "born": {"text": "¿Fecha de nacimiento?"},
        "when": {"text": "¿Cuándo?"},
    },
}
MESSAGES = {
    "version": "7",
    "messages": {
        "next_step": "{clinic} le llamará {response_time}.",
        "review": "Revisaremos sus respuestas.",
        "cannot_help": "Lo sentimos: {clinic} solo trata a personas adultas.",
    },
}
QUESTIONNAIRE = parse_questionnaire(SOURCE)
RULESET = parse_ruleset(RULES, QUESTIONNAIRE)


def changed(raw: dict, path: str, value: Any) -> dict:
    """``raw`` with the value at a dotted ``path`` set (``...`` removes it)."""
    raw = copy.deepcopy(raw)
    *parents, last = path.split(".")
    target = raw
    for key in parents:
        target = target.setdefault(key, {})
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return raw


def words_only(translated, source) -> None:
    """Every code, type, condition and flag of ``translated`` is the source's."""
    assert (translated.id, translated.version) == (source.id, source.version)
    assert [step.id for step in translated.steps] == [step.id for step in source.steps]
    assert list(translated.items) == list(source.items)
    for link_id, item in source.items.items():
        other = translated.items[link_id]
        assert [o.code for o in other.options] == [o.code for o in item.options], link_id
        source_words = replace(
            other,
            text=item.text,
            help=item.help,
            options=tuple(Option(o.code, item.display_for(o.code)) for o in other.options),
        )
        assert source_words == item, link_id
    for step, other in zip(source.steps, translated.steps, strict=True):
        assert [i.link_id for i in other.items] == [i.link_id for i in step.items]
        assert all(a is translated.items[a.link_id] for a in other.items), step.id


# --- Laid over the source -------------------------------------------------------------------


def test_every_word_of_a_complete_translation_is_laid_over_the_source():
    translated = translate_questionnaire(QUESTIONNAIRE, WORDS)

    assert translated.title == "Solicitud pequeña"
    first, second = translated.steps
    assert (first.title, first.intro, first.change) == ("Primero", "Hola.", "Cambiar las primeras")
    assert (second.title, second.intro, second.change) == ("Segundo", "", "Cambiar las segundas")
    treated = translated.items["treated"]
    assert (treated.text, treated.help) == ("¿Tratamiento antes?", "Cualquier tratamiento.")
    assert [(o.code, o.display) for o in treated.options] == [("yes", "Sí"), ("no", "No")]
    assert first.items[0] is treated  # a step shows the translated items
    words_only(translated, QUESTIONNAIRE)
    assert QUESTIONNAIRE.items["treated"].text == "Treated before?"  # the source is untouched
    assert missing(QUESTIONNAIRE, WORDS, MESSAGES, RULESET) == []


def test_the_patient_messages_are_translated_and_the_rules_kept():
    translated = translate_ruleset(RULESET, MESSAGES)

    assert translated.messages["next_step"] == "{clinic} le llamará {response_time}."
    assert translated.messages["cannot_help"].startswith("Lo sentimos")
    assert (translated.rules, translated.categories) == (RULESET.rules, RULESET.categories)
    assert (translated.id, translated.version) == (RULESET.id, RULESET.version)


def test_a_text_left_out_reads_in_the_source_language_and_is_listed_as_missing():
    words = changed(WORDS, "title", ...)
    words = changed(words, "steps.second", ...)
    words = changed(words, "items.treated.help", "  ")
    words = changed(words, "items.treated.options.no", ...)
    words = changed(words, "items.when", ...)
    messages = changed(MESSAGES, "messages.review", None)

    translated = translate_questionnaire(QUESTIONNAIRE, words)

    assert translated.title == "Small inquiry"
    assert translated.step("second").title == "Second"
    assert translated.items["treated"].help == "Any treatment."
    assert translated.items["treated"].display_for("no") == "No"
    assert translated.items["when"].text == "When?"
    assert translate_ruleset(RULESET, messages).messages["review"] == (
        "We will look at your answers."
    )
    assert missing(QUESTIONNAIRE, words, messages, RULESET) == [
        "title",
        "steps.second.title",
        "steps.second.change",  # the source's default link text, "Change your answers to ..."
        "items.treated.help",
        "items.treated.options.no",
        "items.when.text",
        "messages.review",
    ]


def test_an_empty_translation_file_is_refused_for_want_of_a_version():
    with pytest.raises(DefinitionError, match="'version' is missing"):
        missing(QUESTIONNAIRE, {}, {}, RULESET)


# --- Mistakes are refused, naming their place -----------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("version", "2", "es.yaml: written for version '2', the source is '3'"),
        ("version", ..., "es.yaml: 'version' is missing"),
        ("colour", "Color", "es.yaml: no key 'colour'"),
        ("steps.third", {"title": "Tercero"}, "es.yaml: steps: no step 'third'"),
        ("steps.first.heading", "Primero", "step 'first': no key 'heading'"),
        ("steps.second.intro", "Hola.", "step 'second': the source has no 'intro'"),
        ("steps", ["first"], "es.yaml: steps: must be a mapping, not list"),
        ("items.colour", {"text": "¿Color?"}, "es.yaml: items: no item 'colour'"),
        ("items.born.txt", "Nacido", "item 'born': no key 'txt'"),
        ("items.born.help", "Día, mes y año.", "item 'born': the source has no 'help'"),
        ("items.born.text", ["¿Fecha?"], "item 'born': 'text' must be text, not"),
        ("items.treated.options.maybe", "Quizás", "item 'treated' options: no option 'maybe'"),
        ("items.treated.options", ["Sí"], "item 'treated' options: must be a mapping"),
        ("items.treated.options.no", False, "'no' must be text, not False .*write it in quotes"),
        ("title", 3, "es.yaml: 'title' must be text, not 3"),
    ],
)
def test_a_malformed_questionnaire_translation_is_refused_naming_the_place(path, value, message):
    words = changed(WORDS, path, value)

    with pytest.raises(DefinitionError, match=message):
        translate_questionnaire(QUESTIONNAIRE, words, source="small.es.yaml")
    with pytest.raises(DefinitionError, match=message.replace("es.yaml", "translation")):
        missing(QUESTIONNAIRE, words, MESSAGES, RULESET)


def test_an_unquoted_yes_code_is_refused_with_a_hint():
    words = changed(WORDS, "items.treated.options", {True: "Sí", "no": "No"})

    with pytest.raises(DefinitionError, match=r"no option True \(YAML reads it as a bool"):
        translate_questionnaire(QUESTIONNAIRE, words)


def test_a_translation_that_is_not_a_mapping_is_refused():
    with pytest.raises(DefinitionError, match="small.es.yaml: must be a mapping, not list"):
        translate_questionnaire(QUESTIONNAIRE, ["title"], source="small.es.yaml")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("version", "3", "rules.es.yaml: written for version '3', the source is '7'"),
        ("version", ..., "rules.es.yaml: 'version' is missing"),
        ("messages.goodbye", "Adiós.", "rules.es.yaml: messages: no message 'goodbye'"),
        ("reasons", {"young": "Menor"}, "rules.es.yaml: no key 'reasons'"),
        ("messages.review", 7, "messages: 'review' must be text, not 7"),
        (
            "messages.next_step",
            "Le llamaremos {response_time}.",
            r"'next_step': placeholders \['response_time'\], "
            r"the source has \['clinic', 'response_time'\]",
        ),
        (
            "messages.review",
            "{clinic} revisará sus respuestas.",
            r"'review': placeholders \['clinic'\], the source has \[\]",
        ),
        ("messages.cannot_help", "Lo sentimos: {clinic.", "'cannot_help': .*placeholders"),
    ],
)
def test_a_malformed_messages_translation_is_refused_naming_the_place(path, value, message):
    messages = changed(MESSAGES, path, value)

    with pytest.raises(DefinitionError, match=message):
        translate_ruleset(RULESET, messages, source="rules.es.yaml")


# --- Loaded beside the source ---------------------------------------------------------------


def write_definition(directory, words: Any = WORDS, messages: Any = MESSAGES) -> None:
    (directory / "small.yaml").write_text(yaml.safe_dump(SOURCE), encoding="utf-8")
    (directory / "small_eligibility.yaml").write_text(yaml.safe_dump(RULES), encoding="utf-8")
    for name, raw in (("small.es.yaml", words), ("small_eligibility.es.yaml", messages)):
        if raw is not None:
            (directory / name).write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")


def test_a_language_is_loaded_from_the_files_beside_the_source(tmp_path):
    write_definition(tmp_path)

    spanish = load_definition("small", tmp_path, language="es")
    english = load_definition("small", tmp_path)

    assert spanish.questionnaire.title == "Solicitud pequeña"
    assert spanish.ruleset.messages["review"] == "Revisaremos sus respuestas."
    assert english.questionnaire.title == "Small inquiry"
    assert load_definition("small", tmp_path, language="fr").questionnaire.title == "Small inquiry"


def test_a_loading_error_names_the_translation_file(tmp_path):
    write_definition(tmp_path, words=changed(WORDS, "version", "2"))

    with pytest.raises(DefinitionError, match=re.escape("small.es.yaml: written for version")):
        load_definition("small", tmp_path, language="es")


def test_half_a_translation_is_refused(tmp_path):
    write_definition(tmp_path, messages=None)

    with pytest.raises(DefinitionError, match="small_eligibility.es.yaml"):
        load_definition("small", tmp_path, language="es")


# --- The shipped Spanish ----------------------------------------------------------------------

SOURCE_DEFINITION = load_definition("ms_inquiry")
SPANISH = load_definition("ms_inquiry", language="es")
READS_THE_SAME = re.compile(r"\d+(\.\d)?|No")  # EDSS scores, and "No"


def shipped(name: str) -> Any:
    return yaml.safe_load((DEFINITIONS / name).read_text(encoding="utf-8"))


def spanish_texts(questionnaire) -> dict[str, str]:
    texts = {"title": questionnaire.title}
    for step in questionnaire.steps:
        for key in ("title", "intro", "change"):
            texts[f"steps.{step.id}.{key}"] = getattr(step, key)
    for link_id, item in questionnaire.items.items():
        texts[f"items.{link_id}.text"] = item.text
        if item.help:
            texts[f"items.{link_id}.help"] = item.help
        for option in item.options:
            texts[f"items.{link_id}.options.{option.code}"] = option.display
    return texts


def test_the_shipped_spanish_translation_is_complete():
    gaps = missing(
        SOURCE_DEFINITION.questionnaire,
        shipped("ms_inquiry.es.yaml"),
        shipped("ms_eligibility.es.yaml"),
        SOURCE_DEFINITION.ruleset,
    )

    assert gaps == []


def test_no_shipped_spanish_text_is_left_in_english():
    english = spanish_texts(SOURCE_DEFINITION.questionnaire)
    spanish = spanish_texts(SPANISH.questionnaire)

    same = [key for key, text in spanish.items() if text == english[key]]
    assert [key for key in same if not READS_THE_SAME.fullmatch(spanish[key])] == []
    for key, text in SPANISH.ruleset.messages.items():
        assert text != SOURCE_DEFINITION.ruleset.messages[key], key


def test_the_shipped_spanish_keeps_every_code_type_condition_and_rule():
    words_only(SPANISH.questionnaire, SOURCE_DEFINITION.questionnaire)
    source_rules, spanish_rules = SOURCE_DEFINITION.ruleset, SPANISH.ruleset
    assert spanish_rules.rules == source_rules.rules
    assert spanish_rules.categories == source_rules.categories
    assert (spanish_rules.id, spanish_rules.version) == (source_rules.id, source_rules.version)
    assert set(spanish_rules.messages) == set(source_rules.messages)


def test_the_shipped_spanish_files_name_the_source_versions():
    assert str(shipped("ms_inquiry.es.yaml")["version"]) == SOURCE_DEFINITION.questionnaire.version
    assert str(shipped("ms_eligibility.es.yaml")["version"]) == SOURCE_DEFINITION.ruleset.version


def test_the_shipped_spanish_messages_keep_their_placeholders_and_fill_in():
    for key, text in SPANISH.ruleset.messages.items():
        filled = text.format(clinic="Clínica Sol", response_time="en un día laborable")
        assert "{" not in filled and "}" not in filled, key
    assert "Clínica Sol" in SPANISH.ruleset.messages["next_step"].format(
        clinic="Clínica Sol", response_time="pronto"
    )
