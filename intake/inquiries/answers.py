"""Reading and writing an inquiry's sealed answers."""

from __future__ import annotations

from typing import Any

from intake.extensions import encryption
from intake.models import Inquiry


def read_answers(inquiry: Inquiry) -> dict[str, Any]:
    """The inquiry's answers outside lead columns, opened with the configured keys."""
    if not inquiry.answers_sealed:
        return {}
    return encryption.keyring.open_json(inquiry.answers_sealed, context=inquiry.answers_context)


def write_answers(inquiry: Inquiry, answers: dict[str, Any]) -> None:
    inquiry.answers_sealed = encryption.keyring.seal_json(answers, context=inquiry.answers_context)
