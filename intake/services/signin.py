"""Staff sign-in: passwords, the TOTP second factor, recovery codes, lockout."""

from __future__ import annotations

from intake.extensions import encryption
from intake.models import StaffUser


def _totp_context(user: StaffUser) -> str:
    return f"staff_users.totp_secret:{user.id}"


def seal_totp_secret(user: StaffUser, secret: str) -> None:
    """Keep the TOTP secret encrypted, bound to its account (it is a credential)."""
    user.totp_secret_sealed = encryption.keyring.seal(secret.encode(), context=_totp_context(user))


def open_totp_secret(user: StaffUser) -> str | None:
    if user.totp_secret_sealed is None:
        return None
    return encryption.keyring.open(user.totp_secret_sealed, context=_totp_context(user)).decode()
