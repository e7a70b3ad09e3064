"""A definition in another language: the words from ``<name>.<language>.yaml`` laid over the
questionnaire, and the patient messages from ``<rules>.<language>.yaml`` over the rule set.

Only words change: ids, codes, types, conditions and rules stay those of the source file, so an
answer given in one language means the same in every other. Each translation file names the
questionnaire version it was written for; ``missing`` lists every text it does not translate.

    # ms_inquiry.es.yaml                      # ms_eligibility.es.yaml
    version: "2026.11.1"                      messages:
    title: ...                                  next_step: ...
    steps:
      contact: {title: ..., change: ..., intro: ...}
    items:
      filled_by:
        text: ...
        help: ...
        options: {self: ..., someone_else: ...}
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _mapping(raw: Any, where: str) -> Mapping:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{where}: must map ids to their words")
    return raw


def _item(item: Item, words: Mapping) -> Item:
    options = _mapping(words.get("options"), f"translation of item '{item.link_id}' options")
    return replace(
        item,
        text=words.get("text") or item.text,
        help=words.get("help") or item.help,
        options=tuple(
            Option(option.code, options.get(option.code) or option.display)
            for option in item.options
        ),
    )


def translate_questionnaire(questionnaire: Questionnaire, raw: Mapping) -> Questionnaire:
    """The questionnaire with the translated words where the translation gives them."""
    if str(raw.get("version")) != questionnaire.version:
        raise DefinitionError(
            f"translation: written for version {raw.get('version')!r}, "
            f"the questionnaire is {questionnaire.version!r}"
        )
    steps_words = _mapping(raw.get("steps"), "translation 'steps'")
    items_words = _mapping(raw.get("items"), "translation 'items'")
    unknown = set(items_words) - set(questionnaire.items) | set(steps_words) - {
        step.id for step in questionnaire.steps
    }
    if unknown:
        raise DefinitionError(f"translation: no such step or item {sorted(unknown)}")
    items = {
        link_id: _item(item, _mapping(items_words.get(link_id), f"item '{link_id}'"))
        for link_id, item in questionnaire.items.items()
    }
    steps = []
    for step in questionnaire.steps:
        words = _mapping(steps_words.get(step.id), f"translation of step '{step.id}'")
        steps.append(
            Step(
                id=step.id,
                title=words.get("title") or step.title,
                intro=words.get("intro") or step.intro,
                change=words.get("change") or step.change,
                items=tuple(items[item.link_id] for item in step.items),
            )
        )
    return replace(
        questionnaire,
        title=raw.get("title") or questionnaire.title,
        steps=tuple(steps),
        items=items,
    )


def translate_ruleset(ruleset: RuleSet, raw: Mapping) -> RuleSet:
    """The rule set with the patient messages translated (staff read the reasons in English)."""
    messages = _mapping(raw.get("messages"), "translation 'messages'")
    unknown = set(messages) - set(ruleset.messages)
    if unknown:
        raise DefinitionError(f"translation: no such message {sorted(unknown)}")
    return replace(
        ruleset, messages={key: messages.get(key) or text for key, text in ruleset.messages.items()}
    )


def missing(questionnaire: Questionnaire, raw: Mapping, rules_raw: Mapping, ruleset: RuleSet):
    """Every text the translation leaves in the source language, by where it is."""
    steps_words = _mapping(raw.get("steps"), "steps")
    items_words = _mapping(raw.get("items"), "items")
    gaps = [] if raw.get("title") else ["title"]
    for step in questionnaire.steps:
        words = _mapping(steps_words.get(step.id), step.id)
        gaps += [
            f"steps.{step.id}.{key}"
            for key, text in (("title", step.title), ("intro", step.intro), ("change", step.change))
            if text and not words.get(key)
        ]
    for link_id, item in questionnaire.items.items():
        words = _mapping(items_words.get(link_id), link_id)
        options = _mapping(words.get("options"), link_id)
        gaps += [f"items.{link_id}.text"] if not words.get("text") else []
        gaps += [f"items.{link_id}.help"] if item.help and not words.get("help") else []
        gaps += [
            f"items.{link_id}.options.{option.code}"
            for option in item.options
            if not options.get(option.code)
        ]
    messages = _mapping(rules_raw.get("messages"), "messages")
    gaps += [f"messages.{key}" for key in ruleset.messages if not messages.get(key)]
    return gaps
