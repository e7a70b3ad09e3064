"""API keys for the clinic's other systems: made and revoked by admins, checked on each call.

A token reads ``ik_<prefix>_<secret>``. The prefix (public, shown in the admin list) finds the
row; the secret is 32 random bytes and only its SHA-256 is stored. A plain hash suits a random
secret of that length (no dictionary to try, unlike a password), and keeps each call cheap."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from intake.extensions import db
from intake.models import API_SCOPES, ApiKey

TOKEN_START = "ik_"  # noqa: S105  # nosec B105 (the public start of every token, no secret)
# last_used_at is written at most this often per key, so a busy key costs no write a call.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    token: str  # shown once, then only its hash remains


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    *, name: str, scopes: Iterable[str], created_by_id: int | None, now: datetime
) -> NewKey:
    """A new key with these scopes (unknown scopes are refused); the caller commits."""
    chosen = [scope for scope in API_SCOPES if scope in set(scopes)]
    unknown = set(scopes) - set(API_SCOPES)
    if unknown or not chosen:
        raise ValueError("choose at least one known scope")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=chosen,
        created_by_id=created_by_id,
        created_at=now,
    )
    db.session.add(key)
    db.session.flush()
    return NewKey(key=key, token=f"{TOKEN_START}{prefix}_{secret}")


def split_token(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a token of our form, else None."""
    if not token.startswith(TOKEN_START):
        return None
    prefix, _, secret = token[len(TOKEN_START) :].partition("_")
    if not prefix or not secret or len(prefix) > 16:
        return None
    return prefix, secret


def find_api_key(token: str) -> ApiKey | None:
    """The key this token names if its secret matches (revoked keys included: the caller
    refuses them, and says so in the audit log)."""
    parts = split_token(token)
    if parts is None:
        return None
    prefix, secret = parts
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    return key


def touch_api_key(key: ApiKey, now: datetime) -> None:
    """Record use, at most once per ``TOUCH_EVERY`` (one UPDATE, no read)."""
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )


def revoke_api_key(key: ApiKey, now: datetime) -> bool:
    """Revoke the key; False when it already was."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = now
    return True


def api_keys() -> list[ApiKey]:
    """Every key, newest first, for the admin list."""
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))
