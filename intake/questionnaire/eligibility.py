"""The eligibility engine: a pure function from answers and rules to an explained outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from intake.questionnaire.conditions import holds
from intake.questionnaire.definition import OUTCOMES, RuleSet


@dataclass(frozen=True)
class TriggeredRule:
    id: str
    outcome: str
    reason: str  # names the health condition: for staff allowed to see the answers
    category: str = ""  # the rule set's words for the kind of reason, for everyone else


@dataclass(frozen=True)
class EligibilityOutcome:
    outcome: str
    triggered: tuple[TriggeredRule, ...]
    patient_message: str
    ruleset_id: str
    ruleset_version: str


def evaluate(ruleset: RuleSet, answers: Mapping[str, Any], *, today: date) -> EligibilityOutcome:
    """The most severe outcome among the triggered rules, else ``no_exclusion_found``.

    The patient message is that of the first rule (in file order) with the winning outcome.
    """
    fired = [rule for rule in ruleset.rules if holds(rule.when, answers, today=today)]
    outcome = max((rule.outcome for rule in fired), key=OUTCOMES.index, default=OUTCOMES[0])
    message = next((rule.patient_message for rule in fired if rule.outcome == outcome), "next_step")
    return EligibilityOutcome(
        outcome=outcome,
        triggered=tuple(
            TriggeredRule(rule.id, rule.outcome, rule.reason, ruleset.categories[rule.category])
            for rule in fired
        ),
        patient_message=message,
        ruleset_id=ruleset.id,
        ruleset_version=ruleset.version,
    )
