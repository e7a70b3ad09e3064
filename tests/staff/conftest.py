"""Staff fixtures: accounts of each role with a confirmed second factor, and clients signed in
through a real server-side session (the sign-in pages have their own tests in test_signin)."""

from __future__ import annotations

import itertools

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import event, func, select

from intake.accounts.sessions import open_session
from intake.accounts.signin import seal_totp_secret
from intake.extensions import db
from intake.models import AuditEvent, StaffUser, Team, TeamMember
from intake.models.types import utcnow
from tests.public.helpers import page

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)
# argon2 is slow on purpose: hash the shared test password once, not once per account.
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)


@pytest.fixture
def make_staff(app):
    """A staff account: returns its id. ``team`` (a name) adds it to that team, created once."""

    def make(role: str = "coordinator", *, team: str | None = None, **fields) -> int:
        with app.app_context():
            number = next(_numbers)
            user = StaffUser(
                email=fields.pop("email", f"{role}{number}@clinic.example"),
                name=fields.pop("name", f"{role.title()} {number}"),
                role=role,
                password_hash=PASSWORD_HASH,
                must_change_password=False,
                totp_confirmed_at=utcnow(),
                **fields,
            )
            db.session.add(user)
            db.session.flush()
            seal_totp_secret(user, pyotp.random_base32())
            if team is not None:
                row = db.session.scalar(select(Team).where(Team.name == team))
                if row is None:
                    row = Team(name=team)
                    db.session.add(row)
                    db.session.flush()
                db.session.add(TeamMember(team_id=row.id, staff_user_id=user.id))
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def sign_in(app):
    """Sign a test client in as a staff account, through a real session row."""

    def sign(client, user_id: int):
        with app.app_context():
            user = db.session.get(StaffUser, user_id)
            token = open_session(user=user, now=utcnow(), ip="127.0.0.1")
            db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        return client

    return sign


@pytest.fixture
def staff_client(app, make_staff, sign_in):
    """A client signed in as a new account of the given role."""

    def build(role: str = "coordinator", **fields):
        return sign_in(app.test_client(), make_staff(role, **fields))

    return build


def csrf_token(client, url: str = "/staff/admin/") -> str:
    """The session's CSRF token, from the sign-out form every staff page carries."""
    return page(client.get(url)).find("input", {"name": "csrf_token"})["value"]


def audit_count(app, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(AuditEvent)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return db.session.scalar(query)


class QueryCounter:
    """Counts the SQL statements the app runs while the block is open."""

    def __init__(self, app) -> None:
        self.app = app
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, *args) -> None:
        self.statements.append(statement)

    def __enter__(self):
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def count(self) -> int:
        return len(self.statements)
