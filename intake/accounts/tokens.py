"""Emailed one-time links for staff: invitations to set a first password, and resets.

Only the token's SHA-256 finds it again; the token itself is sealed for the worker that
renders the email, and forgotten once the link is used. The email goes through the send
ledger like every other message, and is stopped if the link was used or has expired."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from intake.extensions import db, encryption
from intake.links import absolute_url
from intake.messaging.sends import schedule_send, send_key
from intake.models import Send, StaffToken, StaffUser

# bandit B105 on these lines: template names and routes keyed by purpose, not passwords.
CADENCES = {"invitation": "staff_invitation", "password_reset": "staff_password_reset"}  # nosec B105
ENDPOINTS = {
    "invitation": "staff.accept_invitation",
    "password_reset": "staff.reset_password",  # nosec B105
}
_KEY_PREFIX = "staff_token"
_MAX_TOKEN = 200


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _context(row: StaffToken) -> str:
    return f"staff_tokens.token:{row.id}"


def issue_staff_token(
    *, user: StaffUser, purpose: str, now: datetime, valid_for: timedelta
) -> StaffToken:
    """A new link of this purpose (older unused ones stop working), emailed through the ledger."""
    if purpose not in CADENCES:
        raise ValueError(f"unknown staff token purpose {purpose!r}")
    _retire(user_id=user.id, purpose=purpose, now=now)
    token = secrets.token_urlsafe(32)
    row = StaffToken(
        token_hash=_hash(token),
        user_id=user.id,
        purpose=purpose,
        created_at=now,
        expires_at=now + valid_for,
    )
    db.session.add(row)
    db.session.flush()
    row.token_sealed = encryption.keyring.seal(token.encode(), context=_context(row))
    schedule_send(
        key=send_key(_KEY_PREFIX, row.id),
        cadence=CADENCES[purpose],
        template=CADENCES[purpose],
        due_at=now,
        now=now,
        staff_user_id=user.id,
    )
    return row


def _retire(*, user_id: int, purpose: str, now: datetime) -> None:
    db.session.execute(
        update(StaffToken)
        .where(
            StaffToken.user_id == user_id,
            StaffToken.purpose == purpose,
            StaffToken.used_at.is_(None),
            StaffToken.expires_at > now,
        )
        .values(expires_at=now, token_sealed=None)
        .execution_options(synchronize_session=False)
    )


def recently_issued(*, user_id: int, purpose: str, now: datetime, within: timedelta) -> bool:
    """Whether a live link of this purpose went out a moment ago (a double click, a bot)."""
    return (
        db.session.scalar(
            select(StaffToken.id)
            .where(
                StaffToken.user_id == user_id,
                StaffToken.purpose == purpose,
                StaffToken.used_at.is_(None),
                StaffToken.created_at > now - within,
                StaffToken.expires_at > now,
            )
            .limit(1)
        )
        is not None
    )


def find_staff_token(*, token: str, purpose: str, now: datetime) -> StaffToken | None:
    """The live link this token names: right purpose, unused, unexpired, account active."""
    if not token or len(token) > _MAX_TOKEN:
        return None
    row = db.session.scalar(
        select(StaffToken).where(
            StaffToken.token_hash == _hash(token), StaffToken.purpose == purpose
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    user = db.session.get(StaffUser, row.user_id)
    return row if user is not None and user.active else None


def use_staff_token(*, row: StaffToken, now: datetime) -> bool:
    """Spend the link: True for the one request that does, False for any other."""
    spent = db.session.execute(
        update(StaffToken)
        .where(StaffToken.id == row.id, StaffToken.used_at.is_(None), StaffToken.expires_at > now)
        .values(used_at=now, token_sealed=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if spent:
        row.used_at, row.token_sealed = now, None
    return spent == 1


def _token_for(send: Send) -> StaffToken | None:
    prefix, _, token_id = send.key.partition(":")
    if prefix != _KEY_PREFIX or not token_id.isdigit():
        return None
    return db.session.get(StaffToken, int(token_id))


def staff_token_stop(send: Send, now: datetime) -> str | None:
    """Why a link's email must not go: the link was used, replaced or has expired."""
    row = _token_for(send)
    if row is None or row.used_at is not None:
        return "token_used"
    if row.expires_at <= now or row.token_sealed is None:
        return "token_expired"
    return None


def staff_token_url(*, send: Send, now: datetime) -> tuple[str, datetime] | None:
    """The link for a ledger row's email and when it expires, or None when it is dead."""
    row = _token_for(send)
    if row is None or staff_token_stop(send, now) is not None:
        return None
    token = encryption.keyring.open(row.token_sealed, context=_context(row)).decode()
    return absolute_url(ENDPOINTS[row.purpose], token=token), row.expires_at


def pending_invitations(user_ids: list[int], now: datetime) -> set[int]:
    """Of these accounts, those with an invitation not yet accepted and still valid."""
    if not user_ids:
        return set()
    return set(
        db.session.scalars(
            select(StaffToken.user_id).where(
                StaffToken.user_id.in_(user_ids),
                StaffToken.purpose == "invitation",
                StaffToken.used_at.is_(None),
                StaffToken.expires_at > now,
            )
        )
    )
