"""Server-side sessions: sign-out, time-outs, disabled accounts, rotation at sign-in, password
changes, the account page, and emailed invitation and reset links."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from intake.accounts.tokens import issue_staff_token
from intake.extensions import db
from intake.models import AuditEvent, Send, StaffSession, StaffToken, StaffUser
from intake.models.types import utcnow
from tests.factories import audit_count
from tests.staff.conftest import (
    COOKIE,
    PASSWORD,
    csrf_from,
    deliver_due_mail,
    email_of,
    enrol,
    enter_code,
    enter_password,
    link_in,
    page,
    sign_in_with_code,
    signed_in,
    submit,
    totp_code,
    user_id_for,
)

NEW_PASSWORD = "fresh mountain river stone"


def _signed_in_client(app, make_staff, role: str = "coordinator"):
    user_id = make_staff(role)
    client = app.test_client()
    assert sign_in_with_code(client, app, user_id).status_code == 302
    return client, user_id


def _cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def _set_cookie(client, value: str) -> None:
    client.set_cookie(COOKIE, value)


def _sessions(app, user_id: int):
    with app.app_context():
        return db.session.scalars(
            select(StaffSession).where(StaffSession.user_id == user_id).order_by(StaffSession.id)
        ).all()


def _move_session(app, user_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(
            update(StaffSession).where(StaffSession.user_id == user_id).values(**values)
        )
        db.session.commit()


def _logout(client):
    return client.post(
        "/staff/logout", data={"csrf_token": csrf_from(client.get("/staff/account"))}
    )


def test_sign_out_ends_the_session_on_the_server_so_a_replayed_cookie_is_refused(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    stolen = _cookie(client)
    response = _logout(client)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert _sessions(app, user_id)[0].revoked_reason == "logout"
    _set_cookie(client, stolen)
    replayed = client.get("/staff/account")
    assert replayed.status_code == 302
    assert replayed.headers["Location"].startswith("/staff/login")
    assert audit_count(app, action="signout") == 1


def test_a_session_idle_for_sixteen_minutes_has_ended(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    _move_session(app, user_id, last_seen_at=utcnow() - timedelta(minutes=16))
    assert client.get("/staff/account").headers["Location"].startswith("/staff/login")


def test_a_form_sent_after_the_session_ended_returns_to_its_page_after_signing_in(app, make_staff):
    """The form's own URL only takes POST: going back there after sign-in would be a 405."""
    client, user_id = _signed_in_client(app, make_staff)
    token = csrf_from(client.get("/staff/account"))
    _move_session(app, user_id, last_seen_at=utcnow() - timedelta(minutes=16))
    sent = client.post(
        "/staff/account/sessions",
        data={"csrf_token": token},
        headers={"Referer": "http://localhost/staff/account"},
    )
    assert sent.headers["Location"] == "/staff/login?next=/staff/account"
    response = enter_password(client, email_of(app, user_id), next_url="/staff/account")
    response = enter_code(client, totp_code(app, user_id, 1), response.headers["Location"])
    assert response.headers["Location"] == "/staff/account"
    assert client.get("/staff/account").status_code == 200


def test_a_page_that_only_redirects_writes_no_page_viewed_row(app, make_staff):
    client, _ = _signed_in_client(app, make_staff)
    before = audit_count(app, action="page.viewed")
    assert client.get("/staff/login").status_code == 302
    assert audit_count(app, action="page.viewed") == before


def test_a_session_in_use_ends_thirteen_hours_after_sign_in(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    _move_session(app, user_id, created_at=utcnow() - timedelta(hours=13))
    assert client.get("/staff/account").headers["Location"].startswith("/staff/login")


def test_a_session_in_use_for_fourteen_minutes_idle_still_works(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    _move_session(app, user_id, last_seen_at=utcnow() - timedelta(minutes=14))
    assert signed_in(client)


def test_a_disabled_account_is_signed_out_at_its_next_request(app, make_staff, staff_client):
    client, user_id = _signed_in_client(app, make_staff)
    admin = staff_client("admin")
    disable_url = f"/staff/admin/staff/{user_id}/disable"
    submit(admin, disable_url, form_page=f"/staff/admin/staff/{user_id}")
    assert not signed_in(client)
    assert {row.revoked_reason for row in _sessions(app, user_id)} == {"disabled"}
    assert enter_password(app.test_client(), email_of(app, user_id)).status_code == 422


def test_the_cookie_changes_at_sign_in_and_the_one_from_before_is_worth_nothing(app, make_staff):
    user_id = make_staff("coordinator")
    client = app.test_client()
    client.get("/staff/login")
    before_password = _cookie(client)
    enter_password(client, email_of(app, user_id))
    before_code = _cookie(client)
    enter_code(client, totp_code(app, user_id))
    after = _cookie(client)
    assert len({before_password, before_code, after}) == 3
    assert signed_in(client)
    for old in (before_password, before_code):
        other = app.test_client()
        _set_cookie(other, old)
        assert not signed_in(other)
    # The half-way cookie cannot be turned into a second session once the sign-in is done.
    other = app.test_client()
    _set_cookie(other, before_code)
    assert other.get("/staff/login/code").headers["Location"] == "/staff/login"
    assert len(_sessions(app, user_id)) == 1


def test_someone_who_must_change_their_password_only_reaches_the_password_page(
    app, make_staff, sign_in
):
    user_id = make_staff("coordinator")
    with app.app_context():
        db.session.execute(
            update(StaffUser).where(StaffUser.id == user_id).values(must_change_password=True)
        )
        db.session.commit()
    client = sign_in(app.test_client(), user_id)
    for url in ("/staff/", "/staff/account"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/staff/password"
    assert client.get("/staff/password").status_code == 200


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    other = app.test_client()
    sign_in_with_code(other, app, user_id, offset=1)
    token = csrf_from(client.get("/staff/password"))
    before = audit_count(app)  # counted around the post alone: the form page has its own row
    response = client.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert audit_count(app) == before + 1
    assert audit_count(app, action="password.changed") == 1
    assert signed_in(client) and not signed_in(other)


def test_a_new_password_must_be_long_enough_and_typed_twice_the_same(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    cases = [
        ({"current_password": PASSWORD, "new_password": "short", "confirm": "short"}, "12"),
        (
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": "different"},
            "not the same",
        ),
        (
            {"current_password": "wrong", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            "not your current password",
        ),
    ]
    email = email_of(app, user_id)
    cases.append(({"current_password": PASSWORD, "new_password": email, "confirm": email}, "email"))
    for data, message in cases:
        response = submit(client, "/staff/password", data)
        assert response.status_code == 422
        errors = " ".join(p.get_text() for p in page(response).select(".error-message"))
        assert message in errors
        field = page(response).find("input", attrs={"aria-invalid": "true"})
        assert field["aria-describedby"].endswith("-error")


def test_the_account_page_lists_sessions_and_signs_out_the_others(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    other = app.test_client()
    sign_in_with_code(other, app, user_id, offset=1)
    shown = client.get("/staff/account")
    assert "(this browser)" in shown.get_data(as_text=True)
    assert len(page(shown).select("table.data tbody tr")) == 2
    before = audit_count(app)  # counted around the post alone: the form page has its own row
    client.post("/staff/account/sessions", data={"csrf_token": csrf_from(shown)})
    assert audit_count(app) == before + 1
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert (row.action, row.detail) == ("sessions.revoked", {"count": 1})
    assert signed_in(client) and not signed_in(other)


def test_new_recovery_codes_are_shown_once_and_the_old_ones_stop_working(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    first = submit(client, "/staff/account/recovery-codes", form_page="/staff/account")
    old = [code.get_text() for code in page(first).select(".recovery-codes code")]
    second = submit(client, "/staff/account/recovery-codes", form_page="/staff/account")
    new = [code.get_text() for code in page(second).select(".recovery-codes code")]
    assert len(old) == len(new) == 10 and not set(old) & set(new)
    assert "10 unused recovery codes" in client.get("/staff/account").get_data(as_text=True)
    assert audit_count(app, action="recovery_codes.generated") == 2
    stranger = app.test_client()
    enter_password(stranger, email_of(app, user_id))
    assert enter_code(stranger, old[0]).status_code == 422
    assert enter_code(stranger, new[0]).status_code == 302


def test_a_reset_link_by_email_sets_a_new_password_that_then_signs_in(app, make_staff):
    user_id = make_staff("coordinator")
    email = email_of(app, user_id)
    client = app.test_client()
    asked = submit(client, "/staff/reset", {"email": email.upper()})
    unknown = submit(client, "/staff/reset", {"email": "nobody@clinic.example"})
    assert asked.status_code == unknown.status_code == 200
    assert page(asked).find("h1").get_text() == page(unknown).find("h1").get_text()
    emails = deliver_due_mail(app)
    assert [mail.recipient for mail in emails] == [email]
    assert "/staff/reset/" not in emails[0].subject
    link = link_in(emails[0], "reset")
    shown = client.get(link)
    assert shown.status_code == 200 and email in shown.get_data(as_text=True)
    done = submit(client, link, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/staff/login"
    assert client.get(link).status_code == 404  # used once
    assert enter_password(client, email, PASSWORD).status_code == 422
    response = enter_password(client, email, NEW_PASSWORD)
    assert response.headers["Location"].startswith("/staff/login/code")  # the factor remains
    assert audit_count(app, action="password.reset_requested") == 2
    assert audit_count(app, action="password.reset") == 1
    with app.app_context():
        token = db.session.scalar(select(StaffToken))
        assert token.used_at is not None and token.token_sealed is None


def test_a_reset_link_ends_every_session_of_the_account(app, make_staff):
    client, user_id = _signed_in_client(app, make_staff)
    with app.app_context():
        issue_staff_token(
            user=db.session.get(StaffUser, user_id),
            purpose="password_reset",
            now=utcnow(),
            valid_for=timedelta(minutes=60),
        )
        db.session.commit()
    link = link_in(deliver_due_mail(app)[0], "reset")
    visitor = app.test_client()
    submit(visitor, link, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert not signed_in(client)


def test_an_expired_reset_link_does_not_work_and_its_email_is_not_sent(app, make_staff):
    user_id = make_staff("coordinator")
    client = app.test_client()
    submit(client, "/staff/reset", {"email": email_of(app, user_id)})
    with app.app_context():
        db.session.execute(update(StaffToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert deliver_due_mail(app) == []
    with app.app_context():
        send = db.session.scalar(select(Send))
        assert (send.status, send.finished_reason) == ("cancelled", "token_expired")


def test_an_invitation_link_sets_the_first_password_then_sign_in_enrols(app, staff_client):
    admin = staff_client("admin")
    invited = submit(
        admin,
        "/staff/admin/staff/invite",
        {"email": "new.person@clinic.example", "name": "New Person", "role": "clinician"},
    )
    assert invited.status_code == 302
    (mail,) = [m for m in deliver_due_mail(app) if m.recipient == "new.person@clinic.example"]
    assert "invited" in mail.subject.lower()
    link = link_in(mail, "invitation")
    client = app.test_client()
    assert client.get(link).status_code == 200
    done = submit(client, link, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    user_id = user_id_for(app, "new.person@clinic.example")
    response = enter_password(client, "new.person@clinic.example", NEW_PASSWORD)
    assert response.headers["Location"].startswith("/staff/login/enrol")
    _, finished = enrol(client, app, user_id)
    assert finished.status_code == 302 and signed_in(client)
    assert audit_count(app, action="invitation.accepted") == 1
