"""What the admin's questionnaire page lists: how many stored results each rule-set version
produced."""

from __future__ import annotations

from sqlalchemy import func, select

from intake.extensions import db
from intake.models import EligibilityResult


def results_by_version() -> list[tuple[str, str, int]]:
    """How many stored results each rule-set version produced: (id, version, count)."""
    rows = db.session.execute(
        select(
            EligibilityResult.ruleset_id,
            EligibilityResult.ruleset_version,
            func.count(EligibilityResult.id),
        )
        .group_by(EligibilityResult.ruleset_id, EligibilityResult.ruleset_version)
        .order_by(EligibilityResult.ruleset_id, EligibilityResult.ruleset_version)
    )
    return [(ruleset_id, version, count) for ruleset_id, version, count in rows]
