"""Staff helpers: CSRF tokens, audit counts, a query counter, and signing in through the real
pages as a person with an authenticator app would (those pages have their own tests in
test_signin). The account fixtures (``make_staff``, ``sign_in``, ``staff_client``, ``seed``) are
in tests/conftest.py, since domain and browser tests use them too; the access matrix's
``world`` is in tests/staff/access_matrix.py."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import event, select, update

from intake.accounts.signin import open_totp_secret
from intake.extensions import db
from intake.messaging.delivery import claim_send, finish_send
from intake.models import CapturedEmail, Send, StaffUser
from intake.models.types import utcnow
from tests.conftest import page
from tests.factories import PASSWORD
from tests.staff.access_matrix import world  # noqa: F401 (the fixture, for tests below here)


def csrf_token(client, url: str = "/staff/admin/") -> str:
    """The session's CSRF token, from the sign-out form every staff page carries."""
    return page(client.get(url)).find("input", {"name": "csrf_token"})["value"]


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


# Signing in through the real pages ---------------------------------------------------------------

NOT_RECOGNISED = "That email, password or code was not recognised"
COOKIE = "intake_session"


def csrf_from(response) -> str:
    field = page(response).find("input", attrs={"name": "csrf_token"})
    assert field is not None, "the page has no form with a CSRF token"
    return field["value"]


def submit(client, url: str, data: dict | None = None, *, form_page: str | None = None):
    """GET the page with the form (``form_page``, else ``url``), then POST to ``url``."""
    token = csrf_from(client.get(form_page or url))
    return client.post(url, data={"csrf_token": token, **(data or {})})


def totp_code(app, user_id: int, offset: int = 0) -> str:
    """The code the person's authenticator shows now (``offset`` steps later or earlier)."""
    with app.app_context():
        secret = open_totp_secret(db.session.get(StaffUser, user_id))
    return pyotp.TOTP(secret).at(time.time(), counter_offset=offset)


def user_id_for(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(StaffUser.id).where(StaffUser.email == email))


def without_second_factor(app, user_id: int) -> int:
    """As before the first sign-in: no authenticator yet."""
    with app.app_context():
        db.session.execute(
            update(StaffUser)
            .where(StaffUser.id == user_id)
            .values(totp_secret_sealed=None, totp_confirmed_at=None)
        )
        db.session.commit()
    return user_id


def email_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(StaffUser, user_id).email


def enter_password(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    url = "/staff/login" + (f"?next={next_url}" if next_url else "")
    return submit(client, url, {"email": email, "password": password})


def enter_code(client, code: str, url: str = "/staff/login/code"):
    return submit(client, url, {"code": code})


def sign_in_with_code(client, app, user_id: int, *, offset: int = 0):
    """Password, then the authenticator's code; the response to the code."""
    response = enter_password(client, email_of(app, user_id))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/staff/login/code")
    return enter_code(client, totp_code(app, user_id, offset))


def enrol(client, app, user_id: int) -> tuple[list[str], object]:
    """On the enrolment page (after the password): confirm a code, read the recovery codes,
    continue. Returns the codes and the final response."""
    shown = client.get("/staff/login/enrol")
    assert shown.status_code == 200
    confirmed = client.post(
        "/staff/login/enrol",
        data={"csrf_token": csrf_from(shown), "code": totp_code(app, user_id)},
    )
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    codes = [code.get_text() for code in page(confirmed).select(".recovery-codes code")]
    finished = client.post("/staff/login/finish", data={"csrf_token": csrf_from(confirmed)})
    return codes, finished


def signed_in(client) -> bool:
    """Whether the client reaches its account page (rather than the sign-in page)."""
    return client.get("/staff/account").status_code == 200


def deliver_due_mail(app) -> list[CapturedEmail]:
    """Send every scheduled ledger row as the worker would; the captured emails."""
    with app.app_context():
        now = utcnow()
        due = db.session.scalars(select(Send.id).where(Send.status == "scheduled")).all()
        for send_id in due:
            if claim_send(send_id=send_id, now=now):
                db.session.commit()
                finish_send(send_id=send_id, now=now, commit=db.session.commit)
                db.session.commit()
        emails = db.session.scalars(select(CapturedEmail).order_by(CapturedEmail.id)).all()
        db.session.expunge_all()
        return emails


def link_in(email: CapturedEmail, kind: str) -> str:
    """The path of the invitation or reset link in an email's text."""
    match = re.search(rf"https?://[^/\s]+(/staff/{kind}/[A-Za-z0-9_\-]+)", email.text_body)
    assert match, f"no {kind} link in the email"
    return match.group(1)
