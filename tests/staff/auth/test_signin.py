"""Signing in through the real pages: password, second factor, enrolment, recovery codes,
lockout, throttling, and the first admin's one-time password."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from intake.accounts.signin import open_totp_secret
from intake.accounts.staff import create_staff_user
from intake.cli import _create_first_admin
from intake.extensions import db
from intake.models import AuditEvent, RecoveryCode, StaffUser
from intake.models.types import utcnow
from tests.factories import audit_count
from tests.staff.conftest import (
    NOT_RECOGNISED,
    PASSWORD,
    csrf_from,
    email_of,
    enrol,
    enter_code,
    enter_password,
    page,
    sign_in_with_code,
    signed_in,
    submit,
    totp_code,
    user_id_for,
    without_second_factor,
)


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _user(app, user_id: int) -> StaffUser:
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        db.session.expunge(user)
        return user


def test_the_sign_in_page_asks_for_email_and_password_with_labels(client):
    response = client.get("/staff/login")
    assert response.status_code == 200
    form = page(response).find("form", method="post")
    for name in ("email", "password"):
        field = form.find("input", attrs={"name": name})
        assert page(response).find("label", attrs={"for": field["id"]}) is not None
    assert response.headers["Cache-Control"] == "no-store"


def test_a_password_and_an_authenticator_code_sign_in_and_go_to_the_queue(app, client, make_staff):
    user_id = make_staff("coordinator")
    response = sign_in_with_code(client, app, user_id)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    assert signed_in(client)
    # The sign-in writes one row; the account page then shown to the signed-in user, one more.
    assert _actions(app) == ["signin.succeeded", "page.viewed"]
    assert _user(app, user_id).last_sign_in_at is not None


def test_sign_in_returns_to_a_same_site_page_but_never_to_another_site(app, make_staff):
    user_id = make_staff("coordinator")
    client = app.test_client()
    code_page = enter_password(client, email_of(app, user_id), next_url="/staff/account")
    code_url = code_page.headers["Location"]
    assert enter_code(client, totp_code(app, user_id), code_url).headers["Location"] == (
        "/staff/account"
    )
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other = app.test_client()
        response = enter_password(other, email_of(app, user_id), next_url=target)
        assert "evil" not in response.headers["Location"]


def test_a_wrong_password_an_unknown_email_and_a_wrong_code_get_the_same_message(
    app, client, make_staff
):
    user_id = make_staff("coordinator")
    wrong_password = enter_password(client, email_of(app, user_id), "not the password")
    unknown = enter_password(client, "nobody@clinic.example", PASSWORD)
    assert wrong_password.status_code == unknown.status_code == 422
    assert NOT_RECOGNISED in wrong_password.get_data(as_text=True)
    assert NOT_RECOGNISED in unknown.get_data(as_text=True)
    enter_password(client, email_of(app, user_id))
    wrong_code = enter_code(client, "000000" if totp_code(app, user_id) != "000000" else "111111")
    assert wrong_code.status_code == 422
    assert NOT_RECOGNISED in wrong_code.get_data(as_text=True)
    assert not signed_in(client)


def test_each_failed_step_is_audited_once_with_the_account_only_when_it_exists(
    app, client, make_staff
):
    user_id = make_staff("coordinator")
    enter_password(client, "nobody@clinic.example", PASSWORD)
    enter_password(client, email_of(app, user_id), "not the password")
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(row.action, row.actor_id, row.detail) for row in rows] == [
            ("signin.failed", None, {"stage": "password", "reason": "unknown_account"}),
            ("signin.failed", user_id, {"stage": "password", "reason": "wrong_password"}),
        ]
        assert {row.outcome for row in rows} == {"failed"}


def test_a_code_works_once_so_a_replayed_code_is_refused(app, client, make_staff):
    user_id = make_staff("coordinator")
    code = totp_code(app, user_id)
    enter_password(client, email_of(app, user_id))
    assert enter_code(client, code).status_code == 302
    client.post("/staff/logout", data={"csrf_token": csrf_from(client.get("/staff/account"))})
    enter_password(client, email_of(app, user_id))
    replayed = enter_code(client, code)
    assert replayed.status_code == 422
    assert NOT_RECOGNISED in replayed.get_data(as_text=True)
    # The next time step's code is new, so it works.
    assert enter_code(client, totp_code(app, user_id, offset=1)).status_code == 302


def test_first_sign_in_enrols_an_authenticator_by_a_server_drawn_qr_code(app, client, make_staff):
    user_id = without_second_factor(app, make_staff("clinician"))
    response = enter_password(client, email_of(app, user_id))
    assert response.headers["Location"].startswith("/staff/login/enrol")
    shown = client.get("/staff/login/enrol")
    qr = page(shown).find("img", class_="totp-qr")
    assert qr["src"].startswith("data:image/svg+xml")
    assert "QR code" in qr["alt"]
    secret_text = page(shown).find(class_="totp-secret").get_text().replace(" ", "")
    with app.app_context():
        assert secret_text == open_totp_secret(db.session.get(StaffUser, user_id))
    # A reload shows the same secret and QR code (the form's CSRF token carries its own time).
    again = page(client.get("/staff/login/enrol"))
    assert again.find("img", class_="totp-qr")["src"] == qr["src"]
    assert again.find(class_="totp-secret").get_text().replace(" ", "") == secret_text
    codes, finished = enrol(client, app, user_id)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert finished.status_code == 302 and signed_in(client)
    # Nothing is audited as a page view before the sign-in completes; the account page after is.
    assert _actions(app) == ["totp.enrolled", "signin.succeeded", "page.viewed"]
    with app.app_context():
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10 and not any(code in h for code in codes for h in stored)


def test_a_recovery_code_signs_in_once_instead_of_a_code(app, make_staff):
    user_id = without_second_factor(app, make_staff("clinician"))
    first = app.test_client()
    enter_password(first, email_of(app, user_id))
    codes, _ = enrol(first, app, user_id)

    second = app.test_client()
    enter_password(second, email_of(app, user_id))
    used = enter_code(second, codes[3].upper().replace("-", " "))
    assert used.status_code == 302 and signed_in(second)
    assert _actions(app)[-2:] == ["recovery_code.used", "page.viewed"]
    assert audit_count(app, action="signin.succeeded") == 1  # only the enrolment's sign-in

    third = app.test_client()
    enter_password(third, email_of(app, user_id))
    again = enter_code(third, codes[3])
    assert again.status_code == 422 and not signed_in(third)
    assert audit_count(app, action="recovery_code.used") == 1


def test_the_enrolment_page_refuses_a_wrong_code_and_keeps_the_same_secret(app, client, make_staff):
    user_id = without_second_factor(app, make_staff("coordinator"))
    enter_password(client, email_of(app, user_id))
    before = _user(app, user_id).totp_secret_sealed
    wrong = "000000" if totp_code(app, user_id) != "000000" else "111111"
    response = submit(client, "/staff/login/enrol", {"code": wrong})
    assert response.status_code == 422
    assert NOT_RECOGNISED in response.get_data(as_text=True)
    assert page(response).find("img", class_="totp-qr") is not None
    assert _user(app, user_id).totp_secret_sealed == before
    assert _user(app, user_id).totp_confirmed_at is None


def test_the_code_page_without_a_password_first_sends_back_to_sign_in(client):
    response = client.get("/staff/login/code")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    # Without a form token the post is sent back (to the queue, there being no referrer).
    tokenless = client.post("/staff/login/finish")
    assert tokenless.status_code == 303 and tokenless.headers["Location"] == "/staff/"
    # With a token but no password step first, it goes back to sign in.
    token = csrf_from(client.get("/staff/login"))
    finished = client.post("/staff/login/finish", data={"csrf_token": token})
    assert finished.status_code == 302
    assert finished.headers["Location"].startswith("/staff/login")
    assert not signed_in(client)


def test_the_password_step_expires_after_five_minutes(app, client, make_staff):
    user_id = make_staff("coordinator")
    enter_password(client, email_of(app, user_id))
    with client.session_transaction() as session:
        state = session["staff_signin"]
        session["staff_signin"] = {**state, "at": state["at"] - 301}
    response = client.get("/staff/login/code")
    assert response.headers["Location"].startswith("/staff/login")


def test_five_failures_lock_the_account_even_for_the_right_password(app, client, make_staff):
    user_id = make_staff("coordinator")
    email = email_of(app, user_id)
    for _ in range(app.config["INTAKE_SIGNIN_LOCK_AFTER"]):
        assert enter_password(client, email, "not the password").status_code == 422
    locked = enter_password(client, email, PASSWORD)
    unknown = enter_password(client, "nobody@clinic.example", PASSWORD)
    assert locked.status_code == unknown.status_code == 422
    assert NOT_RECOGNISED in locked.get_data(as_text=True)
    assert (
        page(locked).find(class_="error-summary").get_text()
        == page(unknown).find(class_="error-summary").get_text()
    )
    assert _user(app, user_id).locked_until > utcnow() + timedelta(minutes=14)
    assert _actions(app).count("signin.locked") == 1
    assert _actions(app)[-2:] == ["signin.failed", "signin.failed"]


def test_wrong_codes_count_towards_the_lock_too(app, client, make_staff):
    user_id = make_staff("coordinator")
    enter_password(client, email_of(app, user_id))
    wrong = "000000" if totp_code(app, user_id) != "000000" else "111111"
    for _ in range(app.config["INTAKE_SIGNIN_LOCK_AFTER"]):
        enter_code(client, wrong)
    refused = enter_code(client, totp_code(app, user_id))
    assert refused.status_code == 422 and not signed_in(client)
    assert audit_count(app, action="signin.locked") == 1


def test_a_lock_runs_out_and_success_clears_the_count(app, client, make_staff):
    user_id = make_staff("coordinator")
    email = email_of(app, user_id)
    for _ in range(app.config["INTAKE_SIGNIN_LOCK_AFTER"]):
        enter_password(client, email, "not the password")
    with app.app_context():
        db.session.execute(
            update(StaffUser)
            .where(StaffUser.id == user_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    enter_password(client, email, "not the password")
    assert sign_in_with_code(client, app, user_id).status_code == 302
    user = _user(app, user_id)
    assert user.failed_sign_ins == 0 and user.locked_until is None


def test_too_many_sign_in_posts_from_one_address_get_429(app_factory, make_staff):
    app = app_factory(INTAKE_SIGNIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [
        enter_password(client, "nobody@clinic.example", "whatever").status_code for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]
    # The limit covers every sign-in step, not just the first.
    assert submit(client, "/staff/reset", {"email": "a@clinic.example"}).status_code == 429


def test_sign_in_still_works_when_the_rate_limit_store_is_down(app_factory):
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")
    with app.app_context():
        user, _ = create_staff_user(
            email="down@clinic.example", name="Down", role="coordinator", now=utcnow()
        )
        db.session.commit()
    client = app.test_client()
    statuses = [enter_password(client, "nobody@clinic.example", "x").status_code for _ in range(3)]
    assert 500 not in statuses and statuses[0] == 422


def test_the_first_admin_signs_in_with_the_printed_password_enrols_and_must_change_it(app, capsys):
    with app.app_context():
        _create_first_admin()
    password = re.search(r"one-time password:\s+(\S+)", capsys.readouterr().out).group(1)
    email = app.config["INTAKE_FIRST_ADMIN_EMAIL"]
    admin_id = user_id_for(app, email)
    client = app.test_client()
    response = enter_password(client, email, password)
    assert response.headers["Location"].startswith("/staff/login/enrol")
    _, finished = enrol(client, app, admin_id)
    assert finished.status_code == 302
    forced = client.get("/staff/")
    assert forced.status_code == 302 and forced.headers["Location"] == "/staff/password"
    new = "a brand new passphrase"
    changed = submit(
        client,
        "/staff/password",
        {"current_password": password, "new_password": new, "confirm": new},
    )
    assert changed.status_code == 302
    assert not _user(app, admin_id).must_change_password
    assert client.get("/staff/account").status_code == 200
    assert audit_count(app, action="password.changed") == 1


def test_each_sign_in_page_with_an_error_says_error_first_in_its_title(app, client, make_staff):
    # A screen reader reads the title first; the page without an error keeps its plain title.
    assert page(client.get("/staff/login")).title.string.startswith("Sign in – ")
    refused = enter_password(client, "nobody@clinic.example", "not the password")
    assert page(refused).title.string.startswith("Error: Sign in – ")
    empty = submit(client, "/staff/reset", {"email": ""})
    assert page(empty).title.string.startswith("Error: Reset your password – ")
    user_id = make_staff("coordinator")
    enter_password(client, email_of(app, user_id))
    wrong = enter_code(client, "000000" if totp_code(app, user_id) != "000000" else "111111")
    assert page(wrong).title.string.startswith("Error: Enter your code – ")
