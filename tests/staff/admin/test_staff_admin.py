"""Administration of staff accounts through the real pages: list, invite, edit availability,
disable and enable, reset a lost second factor, unlock; one audit row for each action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from intake.accounts.signin import generate_recovery_codes
from intake.extensions import db
from intake.models import AuditEvent, RecoveryCode, Send, StaffUser, Team, TeamMember
from intake.models.types import utcnow
from tests.factories import audit_count
from tests.staff.conftest import (
    QueryCounter,
    csrf_from,
    email_of,
    enter_password,
    page,
    sign_in_with_code,
    signed_in,
    submit,
    user_id_for,
)


def _team(app, name: str) -> int:
    with app.app_context():
        team = Team(name=name)
        db.session.add(team)
        db.session.commit()
        return team.id


def _user(app, user_id: int) -> StaffUser:
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        db.session.expunge(user)
        return user


def _last_audit(app) -> AuditEvent:
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        db.session.expunge(row)
        return row


def _edit_data(**overrides) -> dict:
    data = {
        "role": "coordinator",
        "capacity": "50",
        "days": ["0", "1", "2", "3", "4"],
        "start": "09:00",
        "end": "17:00",
        "time_zone": "America/New_York",
        "out_of_office_until": "",
    }
    return {**data, **overrides}


@pytest.mark.parametrize("role", ["coordinator", "clinician"])
def test_only_admins_reach_staff_administration(app, staff_client, make_staff, role):
    client = staff_client(role)
    target = make_staff("coordinator")
    assert client.get("/staff/admin/staff").status_code == 403
    assert client.get(f"/staff/admin/staff/{target}").status_code == 403
    token = page(client.get("/staff/account")).find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(f"/staff/admin/staff/{target}/disable", data={"csrf_token": token})
    assert response.status_code == 403
    assert _user(app, target).active


def test_the_staff_list_shows_role_teams_status_and_last_sign_in(app, staff_client, make_staff):
    admin = staff_client("admin")
    make_staff("clinician", team="North", name="Cleo Clinician")
    locked = make_staff("coordinator", name="Lou Locked")
    with app.app_context():
        db.session.execute(
            update(StaffUser)
            .where(StaffUser.id == locked)
            .values(locked_until=utcnow() + timedelta(minutes=5))
        )
        db.session.commit()
    html = page(admin.get("/staff/admin/staff"))
    rows = {row.find("th").get_text(strip=True): row for row in html.select("tbody tr")}
    cleo = [cell.get_text(strip=True) for cell in rows["Cleo Clinician"].find_all("td")]
    assert cleo[1:4] == ["Clinician", "North", "Active"]
    assert "Locked" in rows["Lou Locked"].get_text()
    assert all(th.get("scope") == "col" for th in html.select("thead th"))


def test_an_invitation_creates_the_account_and_emails_a_link_through_the_ledger(app, staff_client):
    admin = staff_client("admin")
    team_id = _team(app, "South")
    token = csrf_from(admin.get("/staff/admin/staff/invite"))
    before = audit_count(app)  # counted around the post alone: the form page has its own row
    response = admin.post(
        "/staff/admin/staff/invite",
        data={
            "csrf_token": token,
            "email": "Ivy@Clinic.example",
            "name": "Ivy",
            "role": "coordinator",
            "team": team_id,
        },
    )
    assert response.status_code == 302
    user_id = user_id_for(app, "ivy@clinic.example")
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        assert (user.role, user.must_change_password, user.totp_confirmed_at) == (
            "coordinator",
            False,
            None,
        )
        membership = select(TeamMember.team_id).where(TeamMember.staff_user_id == user_id)
        assert db.session.scalar(membership) == team_id
        send = db.session.scalar(select(Send).where(Send.staff_user_id == user_id))
        assert (send.cadence, send.status) == ("staff_invitation", "scheduled")
    assert audit_count(app) == before + 1
    row = _last_audit(app)
    assert (row.action, row.target, row.detail) == (
        "staff.invited",
        f"staff:{user_id}",
        {"role": "coordinator"},
    )
    listed = admin.get("/staff/admin/staff").get_data(as_text=True)
    assert "Invited" in listed


def test_an_invitation_with_a_bad_or_taken_address_says_why_and_keeps_what_was_typed(
    app, staff_client, make_staff
):
    admin = staff_client("admin")
    taken = email_of(app, make_staff("coordinator"))
    for email, message in (("not-an-email", "like name@example.org"), (taken, "already exists")):
        data = {"email": email, "name": "Someone Typed", "role": "clinician"}
        response = submit(admin, "/staff/admin/staff/invite", data)
        assert response.status_code == 422
        html = page(response)
        assert message in html.find(id="email-error").get_text()
        assert html.find("input", attrs={"name": "name"})["value"] == "Someone Typed"
        assert html.title.string.startswith("Error: Invite someone – ")  # read out first
        assert html.select_one(".error-summary").has_attr("autofocus")
    assert audit_count(app, action="staff.invited") == 0
    assert page(admin.get("/staff/admin/staff/invite")).title.string.startswith("Invite someone")


def test_editing_saves_role_teams_capacity_hours_and_out_of_office(app, staff_client, make_staff):
    admin = staff_client("admin")
    person = make_staff("coordinator", team="North")
    south = _team(app, "South")
    data = _edit_data(
        role="clinician",
        teams=[str(south)],
        capacity="12",
        days=["1", "3"],
        start="08:30",
        end="16:00",
        time_zone="Europe/London",
        out_of_office_until="2030-01-10",
    )
    response = submit(admin, f"/staff/admin/staff/{person}", data)
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(StaffUser, person)
        assert (user.role, user.capacity, user.time_zone) == ("clinician", 12, "Europe/London")
        assert user.working_hours == {"days": [1, 3], "start": "08:30", "end": "16:00"}
        assert user.out_of_office_until == datetime(2030, 1, 11, tzinfo=UTC)
        teams = db.session.scalars(
            select(TeamMember.team_id).where(TeamMember.staff_user_id == person)
        ).all()
        assert teams == [south]
    row = _last_audit(app)
    assert row.action == "staff.updated"
    assert row.detail == {
        "fields": ["capacity", "out_of_office_until", "role", "teams", "time_zone", "working_hours"]
    }
    shown = page(admin.get(f"/staff/admin/staff/{person}"))
    assert shown.find("input", attrs={"name": "out_of_office_until"})["value"] == "2030-01-10"


def test_a_bad_time_zone_or_hours_are_refused_beside_the_field(app, staff_client, make_staff):
    admin = staff_client("admin")
    person = make_staff("coordinator")
    data = _edit_data(time_zone="Mars/Olympus", start="17:00", end="09:00")
    response = submit(admin, f"/staff/admin/staff/{person}", data)
    assert response.status_code == 422
    html = page(response)
    assert "time zone" in html.find(id="time_zone-error").get_text()
    assert "after its start" in html.find(id="end-error").get_text()
    assert html.find("input", attrs={"name": "time_zone"})["value"] == "Mars/Olympus"
    assert audit_count(app, action="staff.updated") == 0


def test_an_admin_cannot_disable_themselves_or_change_their_own_role(app, make_staff, sign_in):
    admin_id = make_staff("admin")
    admin = sign_in(app.test_client(), admin_id)
    submit(admin, f"/staff/admin/staff/{admin_id}/disable", form_page="/staff/account")
    assert _user(app, admin_id).active
    response = submit(admin, f"/staff/admin/staff/{admin_id}", _edit_data(role="clinician"))
    assert response.status_code == 422
    assert _user(app, admin_id).role == "admin"
    assert audit_count(app, action="staff.disabled") == 0


def test_disabling_ends_the_sessions_and_enabling_lets_them_sign_in_again(
    app, staff_client, make_staff
):
    admin = staff_client("admin")
    person = make_staff("coordinator")
    theirs = app.test_client()
    sign_in_with_code(theirs, app, person)
    submit(admin, f"/staff/admin/staff/{person}/disable", form_page=f"/staff/admin/staff/{person}")
    assert not signed_in(theirs)
    assert enter_password(theirs, email_of(app, person)).status_code == 422
    submit(admin, f"/staff/admin/staff/{person}/enable", form_page=f"/staff/admin/staff/{person}")
    assert enter_password(theirs, email_of(app, person)).status_code == 302
    assert audit_count(app, action="staff.disabled") == 1
    assert audit_count(app, action="staff.enabled") == 1


def test_resetting_the_second_factor_sends_the_next_sign_in_to_enrolment(
    app, staff_client, make_staff
):
    admin = staff_client("admin")
    person = make_staff("clinician")
    with app.app_context():
        generate_recovery_codes(user=db.session.get(StaffUser, person), now=utcnow())
        db.session.commit()
    theirs = app.test_client()
    sign_in_with_code(theirs, app, person)
    url = f"/staff/admin/staff/{person}/second-factor"
    submit(admin, url, form_page=f"/staff/admin/staff/{person}")
    assert not signed_in(theirs)
    user = _user(app, person)
    assert user.totp_confirmed_at is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    response = enter_password(theirs, email_of(app, person))
    assert response.headers["Location"].startswith("/staff/login/enrol")
    assert audit_count(app, action="staff.second_factor_reset") == 1


def test_unlocking_lets_a_locked_account_sign_in_at_once(app, staff_client, make_staff):
    admin = staff_client("admin")
    person = make_staff("coordinator")
    for _ in range(app.config["INTAKE_SIGNIN_LOCK_AFTER"]):
        enter_password(app.test_client(), email_of(app, person), "wrong password!")
    assert enter_password(app.test_client(), email_of(app, person)).status_code == 422
    shown = admin.get(f"/staff/admin/staff/{person}").get_data(as_text=True)
    assert "Unlock sign-in" in shown
    submit(admin, f"/staff/admin/staff/{person}/unlock", form_page=f"/staff/admin/staff/{person}")
    assert enter_password(app.test_client(), email_of(app, person)).status_code == 302
    assert audit_count(app, action="staff.unlocked") == 1


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("disable", "staff.disabled"),
        ("second-factor", "staff.second_factor_reset"),
        ("unlock", "staff.unlocked"),
        ("password-reset", "staff.password_reset_sent"),
    ],
)
def test_each_account_action_writes_exactly_one_audit_row(
    app, staff_client, make_staff, path, action
):
    admin = staff_client("admin")
    person = make_staff("coordinator")
    edit = f"/staff/admin/staff/{person}"
    token = csrf_from(admin.get(edit))
    before = audit_count(app)  # counted around the post alone: the form page has its own row
    response = admin.post(f"{edit}/{path}", data={"csrf_token": token})
    assert response.status_code == 302
    assert audit_count(app) == before + 1
    assert audit_count(app, action=action) == 1
    row = _last_audit(app)
    assert (row.action, row.target, row.outcome) == (action, f"staff:{person}", "ok")


def test_the_staff_list_costs_the_same_few_queries_however_many_people_there_are(
    app, staff_client, make_staff
):
    admin = staff_client("admin")
    admin.get("/staff/admin/staff")  # the session's once-a-minute touch is done

    def cost() -> int:
        with QueryCounter(app) as counter:
            assert admin.get("/staff/admin/staff").status_code == 200
        return counter.count

    few = cost()
    for number in range(8):
        make_staff("coordinator", team=f"Team {number % 3}")
    # the session, the people, their teams, pending invitations, and the page.viewed audit row
    # (advancing the audit chain's head, then the row's insert)
    assert few == 6
    assert cost() == few
