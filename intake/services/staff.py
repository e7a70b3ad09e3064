"""Staff accounts."""

from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher

from intake.extensions import db
from intake.models import ROLES, StaffUser

_hasher = PasswordHasher()


class StaffAccountError(ValueError):
    """The account cannot be created as asked; the message says why."""


def create_staff_user(*, email: str, name: str, role: str, now: datetime) -> tuple[StaffUser, str]:
    """A new account with a one-time password that must be changed at first sign-in."""
    if role not in ROLES:
        raise StaffAccountError(f"role must be one of {', '.join(ROLES)}")
    email = email.strip().lower()
    if db.session.scalar(db.select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffAccountError(f"a staff account for {email} already exists")
    password = secrets.token_urlsafe(12)
    user = StaffUser(
        email=email,
        name=name,
        role=role,
        created_at=now,
        password_hash=_hasher.hash(password),
        must_change_password=True,
    )
    db.session.add(user)
    return user, password


def has_staff() -> bool:
    return db.session.scalar(db.select(StaffUser.id).limit(1)) is not None
