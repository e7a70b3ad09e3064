"""A definition in another language: the words from ``<name>.<language>.yaml`` laid over the
questionnaire, and the patient messages from ``<rules>.<language>.yaml`` over the rule set.

Only words change: ids, codes, types, conditions and rules stay those of the source file, so an
answer given in one language means the same in every other. Each translation file names the
version of the source file it was written for, and must be brought up to date when that changes.
A text left out (or left empty) reads in the source language, and ``missing`` lists it; anything
the source does not have (a step, item, option, message or key) is an error naming its place,
and so is a text that is not a string, or a message that drops or adds a placeholder.

    # ms_inquiry.es.yaml                      # ms_eligibility.es.yaml
    version: "2026.11.1"                      version: "2026.11.1"
    title: ...                                messages:
    steps:                                      next_step: ...
      contact: {title: ..., change: ..., intro: ...}
    items:
      filled_by:
        text: ...
        help: ...
        options: {self: ..., someone_else: ...}
"""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from intake.questionnaire.definition import (
    DefinitionError,
    Item,
    Option,
    Questionnaire,
    RuleSet,
    Step,
)

QUESTIONNAIRE_KEYS = ("version", "title", "steps", "items")
STEP_KEYS = ("title", "intro", "change")
ITEM_KEYS = ("text", "help", "options")
RULESET_KEYS = ("version", "messages")


def _quote_hint(value: Any) -> str:
    """YAML reads yes, no and numbers as booleans and numbers unless they are quoted."""
    if isinstance(value, bool | int | float):
        return f" (YAML reads it as a {type(value).__name__}: write it in quotes)"
    return ""


def _mapping(raw: Any, where: str, allowed: Collection[str], what: str) -> Mapping:
    """``raw`` as a mapping (nothing given is empty) whose every key is one of ``allowed``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{where}: must be a mapping, not {type(raw).__name__}")
    for key in raw:
        if key not in allowed:
            raise DefinitionError(f"{where}: no {what} {key!r}{_quote_hint(key)}")
    return raw


def _text(words: Mapping, key: str, source: str | None, where: str) -> str | None:
    """The translated text for ``key``, or the source's when the translation leaves it out."""
    value = words.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return source
    if not isinstance(value, str):
        raise DefinitionError(f"{where}: '{key}' must be text, not {value!r}{_quote_hint(value)}")
    if not source:
        raise DefinitionError(f"{where}: the source has no '{key}' to translate")
    return value.strip()


def _check_version(raw: Mapping, version: str, where: str) -> None:
    written_for = raw.get("version")
    if written_for is None:
        raise DefinitionError(f"{where}: 'version' is missing (the source is {version!r})")
    if str(written_for) != version:
        raise DefinitionError(
            f"{where}: written for version {str(written_for)!r}, the source is {version!r}"
        )


def _top(raw: Any, where: str, keys: Collection[str], version: str) -> Mapping:
    top = _mapping(raw, where, keys, "key")
    _check_version(top, version, where)
    return top


def _item(item: Item, raw: Any, where: str) -> Item:
    where = f"{where}: item '{item.link_id}'"
    words = _mapping(raw, where, ITEM_KEYS, "key")
    codes = [option.code for option in item.options]
    options = _mapping(words.get("options"), f"{where} options", codes, "option")
    return replace(
        item,
        text=_text(words, "text", item.text, where),
        help=_text(words, "help", item.help, where),
        options=tuple(
            Option(
                option.code,
                _text(options, option.code, option.display, f"{where} options"),
            )
            for option in item.options
        ),
    )


def _step(step: Step, raw: Any, items: Mapping[str, Item], where: str) -> Step:
    where = f"{where}: step '{step.id}'"
    words = _mapping(raw, where, STEP_KEYS, "key")
    return replace(
        step,
        title=_text(words, "title", step.title, where),
        intro=_text(words, "intro", step.intro, where) or "",
        change=_text(words, "change", step.change, where) or "",
        items=tuple(items[item.link_id] for item in step.items),
    )


def translate_questionnaire(
    questionnaire: Questionnaire, raw: Any, *, source: str = "translation"
) -> Questionnaire:
    """The questionnaire with the translated words where the translation gives them.

    ``source`` names the translation (its file) in the errors."""
    top = _top(raw, source, QUESTIONNAIRE_KEYS, questionnaire.version)
    step_ids = [step.id for step in questionnaire.steps]
    steps_words = _mapping(top.get("steps"), f"{source}: steps", step_ids, "step")
    items_words = _mapping(top.get("items"), f"{source}: items", questionnaire.items, "item")
    items = {
        link_id: _item(item, items_words.get(link_id), source)
        for link_id, item in questionnaire.items.items()
    }
    return replace(
        questionnaire,
        title=_text(top, "title", questionnaire.title, source),
        steps=tuple(
            _step(step, steps_words.get(step.id), items, source) for step in questionnaire.steps
        ),
        items=items,
    )


def _placeholders(text: str, where: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise DefinitionError(f"{where}: {exc} (write placeholders as {{clinic}})") from exc


def translate_ruleset(ruleset: RuleSet, raw: Any, *, source: str = "translation") -> RuleSet:
    """The rule set with the patient messages translated (staff read the reasons in English).

    A translated message keeps exactly the placeholders of the source's."""
    top = _top(raw, source, RULESET_KEYS, ruleset.version)
    where = f"{source}: messages"
    words = _mapping(top.get("messages"), where, ruleset.messages, "message")
    messages = {}
    for key, text in ruleset.messages.items():
        translated = _text(words, key, text, where)
        wanted, found = _placeholders(text, key), _placeholders(translated, f"{where} '{key}'")
        if found != wanted:
            raise DefinitionError(
                f"{where} '{key}': placeholders {sorted(found)}, the source has {sorted(wanted)}"
            )
        messages[key] = translated
    return replace(ruleset, messages=messages)


def _given(words: Mapping, key: str) -> bool:
    value = words.get(key)
    return isinstance(value, str) and bool(value.strip())


def missing(questionnaire: Questionnaire, raw: Any, rules_raw: Any, ruleset: RuleSet) -> list[str]:
    """Every text the translation leaves in the source language, by where it is.

    A malformed translation is a :class:`DefinitionError` (as it is when it is loaded)."""
    translate_questionnaire(questionnaire, raw)
    translate_ruleset(ruleset, rules_raw)
    steps_words, items_words = raw.get("steps") or {}, raw.get("items") or {}
    gaps = [] if _given(raw, "title") else ["title"]
    for step in questionnaire.steps:
        words = steps_words.get(step.id) or {}
        gaps += [
            f"steps.{step.id}.{key}"
            for key in STEP_KEYS
            if getattr(step, key) and not _given(words, key)
        ]
    for link_id, item in questionnaire.items.items():
        words = items_words.get(link_id) or {}
        options = words.get("options") or {}
        gaps += [
            f"items.{link_id}.{key}"
            for key in ("text", "help")
            if getattr(item, key) and not _given(words, key)
        ]
        gaps += [
            f"items.{link_id}.options.{option.code}"
            for option in item.options
            if not _given(options, option.code)
        ]
    messages = rules_raw.get("messages") or {}
    gaps += [f"messages.{key}" for key in ruleset.messages if not _given(messages, key)]
    return gaps
