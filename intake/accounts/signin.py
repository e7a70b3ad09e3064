"""Staff sign-in: passwords, the TOTP second factor, recovery codes, lockout.

Every refusal looks the same from outside: an unknown address still costs one argon2 check,
and a locked account answers like a wrong password. Wrong passwords and wrong codes count
together towards the lock; only a completed sign-in clears the count (so knowing the password
does not buy fresh guesses at the code)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update

from intake.accounts.sessions import token_hash
from intake.extensions import db, encryption
from intake.models import RecoveryCode, StaffSession, StaffUser

_hasher = PasswordHasher()
# Recovery codes carry 50 random bits, so a lighter (still memory-hard) setting is enough.
_code_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
RECOVERY_CODES = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TOTP_DIGITS = 6


@dataclass(frozen=True)
class Lockout:
    """How many failures in a row lock an account, and for how long."""

    after: int
    duration: timedelta


@dataclass(frozen=True)
class Attempt:
    """The outcome of one sign-in step; ``reason`` is an enum value for the audit log."""

    user: StaffUser | None
    ok: bool
    reason: str | None = None
    locked_now: bool = False
    method: str | None = None
    codes_left: int | None = None


# Passwords


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_matches(user: StaffUser, password: str) -> bool:
    """Whether the password is the account's, upgrading its hash when the settings moved on."""
    if not _verify(user.password_hash, password):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def find_staff_by_email(email: str) -> StaffUser | None:
    """The account with this address (any case), or None."""
    address = (email or "").strip().lower()
    return db.session.scalar(select(StaffUser).where(StaffUser.email == address))


def is_locked(user: StaffUser, now: datetime) -> bool:
    """Whether the account is inside a lock period."""
    return user.locked_until is not None and user.locked_until > now


def check_password(*, email: str, password: str, now: datetime, lockout: Lockout) -> Attempt:
    """The first step: the account's password, always one argon2 check whoever asks."""
    user = find_staff_by_email(email)
    if user is None or not user.active:
        _verify(None, password)
        return Attempt(
            user=user, ok=False, reason="unknown_account" if user is None else "disabled"
        )
    if is_locked(user, now):
        _verify(None, password)
        return Attempt(user=user, ok=False, reason="locked")
    if not password_matches(user, password):
        return record_failure(user=user, reason="wrong_password", now=now, lockout=lockout)
    return Attempt(user=user, ok=True)


def record_failure(*, user: StaffUser, reason: str, now: datetime, lockout: Lockout) -> Attempt:
    """Count a wrong password or code; the one that reaches the limit locks the account."""
    failures = db.session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(failed_sign_ins=StaffUser.failed_sign_ins + 1)
        .returning(StaffUser.failed_sign_ins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    user.failed_sign_ins = failures
    if failures < lockout.after:
        return Attempt(user=user, ok=False, reason=reason)
    user.locked_until = now + lockout.duration
    user.failed_sign_ins = 0
    return Attempt(user=user, ok=False, reason=reason, locked_now=True)


def record_success(*, user: StaffUser) -> None:
    """A completed sign-in clears the failure count."""
    user.failed_sign_ins = 0
    user.locked_until = None


# The TOTP second factor


def _totp_context(user: StaffUser) -> str:
    return f"staff_users.totp_secret:{user.id}"


def seal_totp_secret(user: StaffUser, secret: str) -> None:
    """Keep the TOTP secret encrypted, bound to its account (it is a credential)."""
    user.totp_secret_sealed = encryption.keyring.seal(secret.encode(), context=_totp_context(user))


def open_totp_secret(user: StaffUser) -> str | None:
    """The account's TOTP secret in base32, or None before enrolment starts."""
    if user.totp_secret_sealed is None:
        return None
    return encryption.keyring.open(user.totp_secret_sealed, context=_totp_context(user)).decode()


def has_second_factor(user: StaffUser) -> bool:
    """Whether the account has a confirmed authenticator."""
    return user.totp_confirmed_at is not None and user.totp_secret_sealed is not None


def start_totp_enrolment(*, user: StaffUser) -> str:
    """The secret to enrol: the pending one again (a reload keeps a scanned code), or new."""
    secret = open_totp_secret(user) if user.totp_confirmed_at is None else None
    if secret is None:
        secret = pyotp.random_base32()
        seal_totp_secret(user, secret)
        user.totp_confirmed_at = None
        user.totp_last_step = None
    return secret


def totp_qr_data_uri(*, secret: str, account: str, issuer: str) -> str:
    """The authenticator's set-up link as a QR code: an SVG data URI drawn on the server."""
    import segno  # only the two-factor set-up page draws one

    uri = pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4)


def grouped(secret: str, size: int = 4) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (this one or a neighbour) whose code this is, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: StaffUser, step: int) -> bool:
    """Mark the step used, unless it (or a later one) already was: a code works once."""
    claimed = db.session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        user.totp_last_step = step
    return claimed == 1


def _totp_accepted(user: StaffUser, code: str, now: datetime) -> bool:
    secret = open_totp_secret(user)
    if secret is None or len(code) != TOTP_DIGITS or not code.isdigit():
        return False
    step = _matching_step(secret, code, now)
    return step is not None and _claim_step(user, step)


def check_code(*, user: StaffUser, code: str, now: datetime, lockout: Lockout) -> Attempt:
    """The second step: a code from the authenticator, or one of the recovery codes."""
    if not user.active or is_locked(user, now):
        return Attempt(user=user, ok=False, reason="locked" if user.active else "disabled")
    code = _normalise_code(code)
    if _totp_accepted(user, code, now):
        return Attempt(user=user, ok=True, method="totp")
    if len(code) != TOTP_DIGITS and use_recovery_code(user=user, code=code, now=now):
        return Attempt(user=user, ok=True, method="recovery_code", codes_left=codes_left(user))
    return record_failure(user=user, reason="wrong_code", now=now, lockout=lockout)


def confirm_totp_enrolment(
    *, user: StaffUser, code: str, now: datetime, lockout: Lockout
) -> Attempt:
    """Enrolment ends when the new authenticator shows a right code."""
    if not user.active or is_locked(user, now) or has_second_factor(user):
        return Attempt(user=user, ok=False, reason="locked" if user.active else "disabled")
    if not _totp_accepted(user, _normalise_code(code), now):
        return record_failure(user=user, reason="wrong_code", now=now, lockout=lockout)
    user.totp_confirmed_at = now
    return Attempt(user=user, ok=True, method="totp")


# Recovery codes


def generate_recovery_codes(*, user: StaffUser, now: datetime) -> list[str]:
    """Ten new single-use codes (any older ones stop working); shown once, kept hashed."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(
            RecoveryCode(user_id=user.id, code_hash=_code_hasher.hash(raw), created_at=now)
        )
    db.session.flush()
    return codes


def _code_matches(code_hash: str, code: str) -> bool:
    try:
        return _code_hasher.verify(code_hash, code)
    except (VerificationError, InvalidHashError):
        return False


def use_recovery_code(*, user: StaffUser, code: str, now: datetime) -> bool:
    """Spend one unused recovery code; each works once, even for two requests at once."""
    unused = db.session.execute(
        select(RecoveryCode.id, RecoveryCode.code_hash).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    for code_id, code_hash in unused:
        if _code_matches(code_hash, code):
            return (
                db.session.execute(
                    update(RecoveryCode)
                    .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
                    .values(used_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )
    return False


def codes_left(user: StaffUser) -> int:
    """How many recovery codes the account has not used."""
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def clear_second_factor(*, user: StaffUser) -> None:
    """Forget the authenticator and recovery codes: the next sign-in enrols again."""
    user.totp_secret_sealed = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# Sessions beyond the one in use


def revoke_other_sessions(
    *, user_id: int, keep_token: str | None, now: datetime, reason: str
) -> int:
    """End the account's live sessions except the one in this browser; returns how many."""
    query = update(StaffSession).where(
        StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None)
    )
    if keep_token:
        query = query.where(StaffSession.token_hash != token_hash(keep_token))
    return db.session.execute(
        query.values(revoked_at=now, revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    ).rowcount


def live_sessions(*, user_id: int, now: datetime, idle: timedelta, absolute: timedelta) -> list:
    """The account's sessions that still work, newest first."""
    return list(
        db.session.scalars(
            select(StaffSession)
            .where(
                StaffSession.user_id == user_id,
                StaffSession.revoked_at.is_(None),
                StaffSession.last_seen_at > now - idle,
                StaffSession.created_at > now - absolute,
            )
            .order_by(StaffSession.created_at.desc())
        )
    )
