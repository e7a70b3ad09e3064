"""Moving sealed values to the newest encryption key."""

from __future__ import annotations

from intake.extensions import db, encryption
from intake.models import EligibilityResult, ImportRow, Inquiry


def reencrypt_batch(*, limit: int = 500) -> int:
    """Re-seal up to ``limit`` values still sealed with an older key; returns how many."""
    keyring = encryption.keyring
    current_prefix = f"v1.{keyring.current_id}.%"
    moved = 0
    for model, column, context in (
        (Inquiry, Inquiry.answers_sealed, "answers_context"),
        (EligibilityResult, EligibilityResult.triggered_sealed, "triggered_context"),
        (ImportRow, ImportRow.cells_sealed, "cells_context"),
    ):
        rows = db.session.scalars(
            db.select(model)
            .where(column.is_not(None), column.not_like(current_prefix))
            .limit(limit)
        ).all()
        for row in rows:
            ctx = getattr(row, context)
            plain = keyring.open(getattr(row, column.key), context=ctx)
            setattr(row, column.key, keyring.seal(plain, context=ctx))
        moved += len(rows)
    return moved
