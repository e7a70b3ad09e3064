"""Server-side staff sessions: opened at sign-in, checked and touched on every request,
revoked by logout, disabling or a password change."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from intake.extensions import db
from intake.models import StaffSession, StaffUser


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    *, user: StaffUser, now: datetime, ip: str | None = None, user_agent: str | None = None
) -> str:
    """A new session for a fully signed-in user; the token goes in the cookie, its hash here."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        StaffSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:200] or None,
        )
    )
    user.last_sign_in_at = now
    user.session_token = token
    return token


TOUCH_EVERY = timedelta(seconds=60)


def load_session_user(
    *, token: str, now: datetime, idle: timedelta, absolute: timedelta
) -> StaffUser | None:
    """The session's user if the session is live: one SELECT, plus an UPDATE of its last-seen
    time at most once a minute (so the idle limit holds to the minute without a write per
    request).

    Live means not revoked, seen within ``idle``, opened within ``absolute``, and its account
    active. Anything else returns None, and the caller sends the browser to sign in again."""
    row = db.session.execute(
        select(StaffUser, StaffSession.id, StaffSession.last_seen_at)
        .join(StaffSession, StaffSession.user_id == StaffUser.id)
        .where(
            StaffSession.token_hash == token_hash(token),
            StaffSession.revoked_at.is_(None),
            StaffSession.last_seen_at > now - idle,
            StaffSession.created_at > now - absolute,
            StaffUser.active.is_(True),
        )
    ).one_or_none()
    if row is None:
        return None
    user, session_id, last_seen_at = row
    if now - last_seen_at >= TOUCH_EVERY:
        db.session.execute(
            update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now)
        )
    user.session_token = token
    return user


def revoke_session(*, token: str, now: datetime, reason: str = "logout") -> None:
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == token_hash(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def revoke_user_sessions(*, user_id: int, now: datetime, reason: str) -> int:
    """End every live session of one account (disabled, password changed, factor reset)."""
    result = db.session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return result.rowcount
