"""Conditions over answers, shared by branching (enableWhen) and eligibility rules. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

OPERATORS = frozenset(
    {"=", "!=", "in", ">", ">=", "<", "<=", "contains", "exists", "age_under", "age_over"}
)


def age_on(born: date, today: date) -> int:
    """Whole years of age on ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _compare(operator: str, given: Any, expected: Any) -> bool:
    left, right = _number(given), _number(expected)
    if left is None or right is None:
        return False
    return {
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[operator]


def _age(given: Any, today: date) -> int | None:
    try:
        return age_on(date.fromisoformat(given), today)
    except (TypeError, ValueError):
        return None


def holds(condition: Mapping, answers: Mapping[str, Any], *, today: date) -> bool:
    """Whether ``condition`` holds for ``answers``; an unanswered question satisfies nothing
    but ``exists: false``."""
    if "any" in condition:
        return any(holds(part, answers, today=today) for part in condition["any"])
    if "all" in condition:
        return all(holds(part, answers, today=today) for part in condition["all"])
    operator, expected = condition["operator"], condition.get("answer")
    given = answers.get(condition["question"])
    answered = given not in (None, "", [])
    if operator == "exists":
        return answered == bool(expected)
    if not answered:
        return False
    if operator == "=":
        return given == expected
    if operator == "!=":
        return given != expected
    if operator == "in":
        return given in expected
    if operator == "contains":
        try:
            return expected in given
        except TypeError:  # a garbage answer that is not a collection contains nothing
            return False
    if operator in ("age_under", "age_over"):
        age = _age(given, today)
        if age is None:
            return False
        return age < expected if operator == "age_under" else age > expected
    return _compare(operator, given, expected)


def enabled(enable_when: list[Mapping], behavior: str, answers: Mapping, *, today: date) -> bool:
    """FHIR enableWhen semantics: no conditions means always shown."""
    if not enable_when:
        return True
    results = (holds(condition, answers, today=today) for condition in enable_when)
    return any(results) if behavior == "any" else all(results)
