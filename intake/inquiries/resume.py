"""Resume links: finish a draft inquiry later, on any device."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from intake.extensions import db
from intake.models import Inquiry, ResumeToken


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_resume_token(*, inquiry: Inquiry, now: datetime, valid_for: timedelta) -> str:
    """A new unguessable link token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        ResumeToken(
            inquiry_id=inquiry.id,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    return token


def redeem_resume_token(*, token: str, now: datetime) -> Inquiry | None:
    """The inquiry a live token opens, or None for an unknown or expired token."""
    if len(token) > 100:
        return None
    return db.session.scalar(
        db.select(Inquiry)
        .join(ResumeToken, ResumeToken.inquiry_id == Inquiry.id)
        .where(ResumeToken.token_hash == _digest(token), ResumeToken.expires_at > now)
    )
