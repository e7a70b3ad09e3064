"""The questionnaire and its eligibility rules, loaded from YAML and validated.

A bad definition fails at startup with the offending item's id, never later in front of a patient.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from intake.questionnaire.conditions import OPERATORS, enabled

DEFINITIONS = Path(__file__).parent / "definitions"
SOURCE_LANGUAGE = "en"  # the definition files' own words; <name>.<language>.yaml translate them
ITEM_TYPES = frozenset(
    {
        "string",
        "text",
        "email",
        "phone",
        "country",
        "choice",
        "multi_choice",
        "year",
        "date",
        "boolean",
    }
)
CHOICE_TYPES = frozenset({"choice", "multi_choice"})
OUTCOMES = ("no_exclusion_found", "needs_review", "not_eligible")  # least to most severe
LEAD_COLUMNS = frozenset(
    {
        "filled_by",
        "first_name",
        "last_name",
        "email",
        "phone",
        "preferred_contact_method",
        "preferred_contact_time",
        "country",
        "region",
        "postal_code",
        "source",
        "caregiver_first_name",
        "caregiver_last_name",
        "caregiver_relationship",
        "caregiver_email",
        "caregiver_phone",
        "ms_type",
    }
)


class DefinitionError(ValueError):
    """The questionnaire or rule file is malformed; the message names the item or rule."""


@dataclass(frozen=True)
class Option:
    code: str
    display: str


@dataclass(frozen=True)
class Item:
    link_id: str
    text: str
    type: str
    step_id: str
    required: bool = False
    help: str | None = None
    options: tuple[Option, ...] = ()
    enable_when: tuple[Mapping, ...] = ()
    enable_behavior: str = "all"
    health: bool = False
    store: str | None = None
    promote: str | None = None
    consent: str | None = None
    max_length: int | None = None
    min_value: int | None = None
    autocomplete: str | None = None

    def is_enabled(self, answers: Mapping[str, Any], *, today: date) -> bool:
        return enabled(list(self.enable_when), self.enable_behavior, answers, today=today)

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def display_for(self, code: str) -> str:
        return next((option.display for option in self.options if option.code == code), code)


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    intro: str
    items: tuple[Item, ...]
    change: str = ""  # the review page's link back to this step, naming it


@dataclass(frozen=True, eq=False)
class Questionnaire:
    id: str
    version: str
    title: str
    steps: tuple[Step, ...]
    items: Mapping[str, Item] = field(repr=False)

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    def step_index(self, step_id: str) -> int:
        return [step.id for step in self.steps].index(step_id)

    def visible_answers(self, answers: Mapping[str, Any], *, today: date) -> dict[str, Any]:
        """Only the answers to items that are shown: a hidden item's answer is never kept.

        Items are checked in order against the answers kept so far, so an item that depends on a
        hidden item is hidden too (items only depend on earlier ones).
        """
        visible: dict[str, Any] = {}
        for link_id, item in self.items.items():
            if link_id in answers and item.is_enabled(visible, today=today):
                visible[link_id] = answers[link_id]
        return visible


@dataclass(frozen=True)
class Rule:
    id: str
    when: Mapping
    outcome: str
    reason: str
    patient_message: str
    category: str  # a key of the rule set's categories: what staff without the answers read


@dataclass(frozen=True)
class RuleSet:
    id: str
    version: str
    questionnaire_id: str
    rules: tuple[Rule, ...]
    messages: Mapping[str, str]
    categories: Mapping[str, str] = field(default_factory=dict)  # key → the words staff read


def _require(mapping: Mapping, key: str, where: str):
    if key not in mapping or mapping[key] in (None, ""):
        raise DefinitionError(f"{where}: '{key}' is missing")
    return mapping[key]


def _check_condition(condition: Any, where: str, known: Mapping[str, Item]) -> None:
    if not isinstance(condition, Mapping):
        raise DefinitionError(f"{where}: a condition must be a mapping")
    for combinator in ("any", "all"):
        if combinator in condition:
            parts = condition[combinator]
            if not isinstance(parts, list) or not parts:
                raise DefinitionError(f"{where}: '{combinator}' needs a list of conditions")
            for part in parts:
                _check_condition(part, where, known)
            return
    question = _require(condition, "question", where)
    operator = _require(condition, "operator", where)
    if question not in known:
        raise DefinitionError(f"{where}: condition refers to unknown question '{question}'")
    if operator not in OPERATORS:
        raise DefinitionError(f"{where}: unknown operator '{operator}'")
    target = known[question]
    expected = condition.get("answer")
    if operator == "in" and not isinstance(expected, list):
        raise DefinitionError(f"{where}: 'in' on '{question}' needs a list of answers")
    numeric = isinstance(expected, int | float) and not isinstance(expected, bool)
    if operator in (">", ">=", "<", "<=", "age_under", "age_over") and not numeric:
        raise DefinitionError(
            f"{where}: '{operator}' on '{question}' needs a number, not {expected!r}"
        )
    if operator in ("=", "!=", "contains", "in") and target.options:
        codes = {option.code for option in target.options}
        values = expected if operator == "in" else [expected]
        unknown = [value for value in values if value not in codes]
        if unknown:
            raise DefinitionError(f"{where}: '{question}' has no option {unknown[0]!r}")


def _parse_item(raw: Mapping, step_id: str, known: Mapping[str, Item]) -> Item:
    link_id = _require(raw, "linkId", f"step '{step_id}'")
    where = f"item '{link_id}'"
    item_type = _require(raw, "type", where)
    if item_type not in ITEM_TYPES:
        raise DefinitionError(f"{where}: unknown type '{item_type}'")
    options = tuple(
        Option(code=str(_require(o, "code", where)), display=str(_require(o, "display", where)))
        for o in raw.get("options") or ()
    )
    if (item_type in CHOICE_TYPES) != bool(options):
        raise DefinitionError(f"{where}: choice items, and only they, need options")
    for column in (raw.get("store"), raw.get("promote")):
        if column is not None and column not in LEAD_COLUMNS:
            raise DefinitionError(f"{where}: '{column}' is not a lead column")
    if raw.get("store") and raw.get("health"):
        raise DefinitionError(f"{where}: health answers are sealed, never stored in lead columns")
    behavior = raw.get("enableBehavior", "all")
    if behavior not in ("all", "any"):
        raise DefinitionError(f"{where}: enableBehavior must be 'all' or 'any'")
    enable_when = tuple(raw.get("enableWhen") or ())
    for condition in enable_when:
        _check_condition(condition, where, known)
    return Item(
        link_id=link_id,
        text=str(_require(raw, "text", where)),
        type=item_type,
        step_id=step_id,
        required=bool(raw.get("required", False)),
        help=raw.get("help"),
        options=options,
        enable_when=enable_when,
        enable_behavior=behavior,
        health=bool(raw.get("health")),
        store=raw.get("store"),
        promote=raw.get("promote"),
        consent=raw.get("consent"),
        max_length=raw.get("maxLength"),
        min_value=raw.get("minValue"),
        autocomplete=raw.get("autocomplete"),
    )


def parse_questionnaire(raw: Mapping) -> Questionnaire:
    """Validate a questionnaire document; an item may only depend on items asked before it."""
    known: dict[str, Item] = {}
    steps = []
    for raw_step in _require(raw, "steps", "questionnaire"):
        step_id = _require(raw_step, "id", "step")
        step_items = []
        for raw_item in _require(raw_step, "items", f"step '{step_id}'"):
            item = _parse_item(raw_item, step_id, known)
            if item.link_id in known:
                raise DefinitionError(f"item '{item.link_id}': linkId is used twice")
            known[item.link_id] = item
            step_items.append(item)
        steps.append(
            Step(
                id=step_id,
                title=_require(raw_step, "title", f"step '{step_id}'"),
                intro=raw_step.get("intro", ""),
                items=tuple(step_items),
                change=raw_step.get("change") or f"Change your answers to “{raw_step['title']}”",
            )
        )
    return Questionnaire(
        id=_require(raw, "id", "questionnaire"),
        version=str(_require(raw, "version", "questionnaire")),
        title=_require(raw, "title", "questionnaire"),
        steps=tuple(steps),
        items=known,
    )


def _parse_categories(raw: Mapping) -> dict[str, str]:
    """The reason categories: each key names the words staff read instead of a rule's reason."""
    categories = _require(raw, "categories", "rule set")
    if not isinstance(categories, Mapping):
        raise DefinitionError("rule set: 'categories' must map each key to its words")
    for key, text in categories.items():
        if not isinstance(text, str) or not text.strip():
            raise DefinitionError(f"rule set: category '{key}' needs the words staff read")
    return {str(key): text.strip() for key, text in categories.items()}


def parse_ruleset(raw: Mapping, questionnaire: Questionnaire) -> RuleSet:
    """Validate rules against the questionnaire they read."""
    messages = dict(_require(raw, "messages", "rule set"))
    for key in ("next_step", "review"):
        _require(messages, key, "rule set messages")
    categories = _parse_categories(raw)
    rules, seen = [], set()
    for raw_rule in _require(raw, "rules", "rule set"):
        rule_id = _require(raw_rule, "id", "rule set")
        where = f"rule '{rule_id}'"
        if rule_id in seen:
            raise DefinitionError(f"{where}: id is used twice")
        seen.add(rule_id)
        outcome = _require(raw_rule, "outcome", where)
        if outcome not in OUTCOMES[1:]:
            raise DefinitionError(f"{where}: outcome must be needs_review or not_eligible")
        message = _require(raw_rule, "patient_message", where)
        if message not in messages:
            raise DefinitionError(f"{where}: no message '{message}'")
        _check_condition(_require(raw_rule, "when", where), where, questionnaire.items)
        category = str(_require(raw_rule, "category", where))
        if category not in categories:
            raise DefinitionError(f"{where}: no category '{category}'")
        rules.append(
            Rule(
                id=rule_id,
                when=raw_rule["when"],
                outcome=outcome,
                reason=_require(raw_rule, "reason", where),
                patient_message=message,
                category=category,
            )
        )
    if raw.get("questionnaire") != questionnaire.id:
        raise DefinitionError(f"rule set: written for '{raw.get('questionnaire')}'")
    return RuleSet(
        id=_require(raw, "id", "rule set"),
        version=str(_require(raw, "version", "rule set")),
        questionnaire_id=questionnaire.id,
        rules=tuple(rules),
        messages=messages,
        categories=categories,
    )


@dataclass(frozen=True)
class Definition:
    questionnaire: Questionnaire
    ruleset: RuleSet


def _read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def definition_paths(name: str, directory: Path, language: str | None = None) -> tuple[Path, Path]:
    """The questionnaire file and its rules file, or their translations into ``language``."""
    suffix = f".{language}.yaml" if language else ".yaml"
    return (
        directory / f"{name}{suffix}",
        directory / f"{name.removesuffix('_inquiry')}_eligibility{suffix}",
    )


@cache
def load_definition(
    name: str, directory: Path = DEFINITIONS, language: str | None = None
) -> Definition:
    """Load ``<name>.yaml`` and its rules ``<name minus _inquiry>_eligibility.yaml``; in another
    ``language``, with the words of their ``.<language>.yaml`` translations laid over them (a
    language without translation files reads the source words)."""
    # Here, not at the top: the translation module builds on this module's classes.
    from intake.questionnaire.translation import translate_questionnaire, translate_ruleset

    questionnaire_path, rules_path = definition_paths(name, directory)
    try:
        questionnaire = parse_questionnaire(_read(questionnaire_path))
        ruleset = parse_ruleset(_read(rules_path), questionnaire)
        translated = definition_paths(name, directory, language) if language else ()
        if any(path.exists() for path in translated):  # then both must be there
            words, messages = translated
            questionnaire = translate_questionnaire(questionnaire, _read(words), source=words.name)
            ruleset = translate_ruleset(ruleset, _read(messages), source=messages.name)
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"cannot read the definition '{name}': {exc}") from exc
    return Definition(questionnaire=questionnaire, ruleset=ruleset)
