"""Staff accounts: creating and inviting them, passwords, availability, disabling.

Anything that could let somebody else in ends the account's sessions: disabling it, a new
password, a reset second factor."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from intake.accounts.sessions import revoke_user_sessions
from intake.accounts.signin import (
    clear_second_factor,
    hash_password,
    password_matches,
    revoke_other_sessions,
)
from intake.accounts.tokens import issue_staff_token, recently_issued
from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.models import ROLES, StaffUser, Team, TeamMember

MIN_PASSWORD = 12
RESET_RESEND_AFTER = timedelta(minutes=1)


class StaffAccountError(ValueError):
    """The account cannot be created or changed as asked; the message says why (staff text,
    translated when it is shown)."""


class PasswordRejected(ValueError):
    """The new password is not acceptable; the message is for the person choosing it."""


@dataclass(frozen=True)
class Availability:
    """What routing needs to know about a person: teams, load and working time."""

    role: str
    team_ids: list[int]
    capacity: int
    days: list[int]
    start: str
    end: str
    time_zone: str
    out_of_office_until: datetime | None


def _normal_email(email: str) -> str:
    return email.strip().lower()


def _check_new_email(email: str) -> str:
    email = _normal_email(email)
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffAccountError(_l("a staff account for %(email)s already exists", email=email))
    return email


def create_staff_user(*, email: str, name: str, role: str, now: datetime) -> tuple[StaffUser, str]:
    """A new account with a one-time password that must be changed at first sign-in."""
    if role not in ROLES:
        raise StaffAccountError(f"role must be one of {', '.join(ROLES)}")
    password = secrets.token_urlsafe(12)
    user = StaffUser(
        email=_check_new_email(email),
        name=name,
        role=role,
        created_at=now,
        password_hash=hash_password(password),
        must_change_password=True,
    )
    db.session.add(user)
    return user, password


def has_staff() -> bool:
    """Whether any staff account exists yet."""
    return db.session.scalar(db.select(StaffUser.id).limit(1)) is not None


def invite_staff_user(
    *, email: str, name: str, role: str, team_id: int | None, now: datetime, valid_for: timedelta
) -> StaffUser:
    """A new account whose owner sets the password from an emailed invitation link."""
    if role not in ROLES:
        raise StaffAccountError(f"role must be one of {', '.join(ROLES)}")
    user = StaffUser(
        email=_check_new_email(email),
        name=name.strip(),
        role=role,
        created_at=now,
        password_hash=hash_password(secrets.token_urlsafe(32)),  # nobody knows it
        must_change_password=False,
    )
    db.session.add(user)
    db.session.flush()
    if team_id is not None:
        set_teams(user=user, team_ids=[team_id])
    issue_staff_token(user=user, purpose="invitation", now=now, valid_for=valid_for)
    return user


def resend_invitation(*, user: StaffUser, now: datetime, valid_for: timedelta) -> None:
    """A fresh invitation link for an account that has never signed in."""
    if user.last_sign_in_at is not None:
        raise StaffAccountError(_l("this person has already signed in; send a password reset"))
    issue_staff_token(user=user, purpose="invitation", now=now, valid_for=valid_for)


def request_password_reset(*, email: str, now: datetime, valid_for: timedelta) -> StaffUser | None:
    """Email a reset link to an active account with this address; the account, or None."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == _normal_email(email)))
    if user is None or not user.active:
        return None
    if not recently_issued(
        user_id=user.id, purpose="password_reset", now=now, within=RESET_RESEND_AFTER
    ):
        issue_staff_token(user=user, purpose="password_reset", now=now, valid_for=valid_for)
    return user


def password_problem(*, password: str, email: str) -> LazyText | None:
    """Why this password will not do, or None."""
    if len(password) < MIN_PASSWORD:
        return _l("Use at least %(min)d characters.", min=MIN_PASSWORD)
    if password.strip().lower() == email.strip().lower():
        return _l("Do not use your email address as your password.")
    return None


def _set_password(user: StaffUser, password: str) -> None:
    problem = password_problem(password=password, email=user.email)
    if problem:
        raise PasswordRejected(problem)
    user.password_hash = hash_password(password)
    user.must_change_password = False


def change_password(
    *, user: StaffUser, current: str, new: str, keep_token: str | None, now: datetime
) -> None:
    """The signed-in person's new password; their other sessions end."""
    if not password_matches(user, current):
        raise StaffAccountError(_l("That is not your current password."))
    if current == new:
        raise PasswordRejected(_l("Choose a password different from the one you have now."))
    _set_password(user, new)
    revoke_other_sessions(
        user_id=user.id, keep_token=keep_token, now=now, reason="password_changed"
    )


def set_password_from_link(*, user: StaffUser, password: str, now: datetime) -> None:
    """A password chosen from an invitation or reset link; every session ends."""
    _set_password(user, password)
    user.failed_sign_ins = 0
    user.locked_until = None
    revoke_user_sessions(user_id=user.id, now=now, reason="password_reset")


def _not_yourself(user: StaffUser, actor: StaffUser, message: LazyText) -> None:
    if user.id == actor.id:
        raise StaffAccountError(message)


def set_active(*, user: StaffUser, actor: StaffUser, active: bool, now: datetime) -> None:
    """Disable (ending every session) or enable an account."""
    _not_yourself(user, actor, _l("You cannot disable your own account; ask another admin."))
    user.active = active
    if not active:
        revoke_user_sessions(user_id=user.id, now=now, reason="disabled")


def reset_second_factor(*, user: StaffUser, actor: StaffUser, now: datetime) -> None:
    """A lost phone: the account enrols a new authenticator at its next sign-in."""
    _not_yourself(
        user,
        actor,
        _l("You cannot reset the second factor of your own account; ask another admin."),
    )
    clear_second_factor(user=user)
    revoke_user_sessions(user_id=user.id, now=now, reason="second_factor_reset")


def unlock(*, user: StaffUser) -> None:
    """Lift a sign-in lock early."""
    user.locked_until = None
    user.failed_sign_ins = 0


def team_ids(user_id: int) -> list[int]:
    """The teams the person belongs to."""
    return list(
        db.session.scalars(select(TeamMember.team_id).where(TeamMember.staff_user_id == user_id))
    )


def set_teams(*, user: StaffUser, team_ids: list[int]) -> None:
    """Make the person a member of exactly these teams."""
    wanted = set(team_ids)
    known = set(db.session.scalars(select(Team.id).where(Team.id.in_(wanted))))
    if known != wanted:
        raise StaffAccountError(_l("that team does not exist"))
    db.session.execute(
        delete(TeamMember).where(
            TeamMember.staff_user_id == user.id, TeamMember.team_id.not_in(wanted)
        )
    )
    have = set(
        db.session.scalars(select(TeamMember.team_id).where(TeamMember.staff_user_id == user.id))
    )
    db.session.add_all(
        TeamMember(team_id=team, staff_user_id=user.id) for team in sorted(wanted - have)
    )


def update_staff_user(*, user: StaffUser, actor: StaffUser, changes: Availability) -> list[str]:
    """Role, teams and availability; the names of the fields that changed."""
    if changes.role not in ROLES:
        raise StaffAccountError(f"role must be one of {', '.join(ROLES)}")
    if user.id == actor.id and changes.role != user.role:
        raise StaffAccountError(_l("You cannot change your own role."))
    before = _snapshot(user)
    old_teams = sorted(team_ids(user.id))
    set_teams(user=user, team_ids=changes.team_ids)
    user.role = changes.role
    user.capacity = changes.capacity
    user.working_hours = {"days": sorted(changes.days), "start": changes.start, "end": changes.end}
    user.time_zone = changes.time_zone
    user.out_of_office_until = changes.out_of_office_until
    changed = [name for name, value in _snapshot(user).items() if before[name] != value]
    if old_teams != sorted(set(changes.team_ids)):
        changed.append("teams")
    return sorted(changed)


def _snapshot(user: StaffUser) -> dict:
    return {
        "role": user.role,
        "capacity": user.capacity,
        "working_hours": dict(user.working_hours or {}),
        "time_zone": user.time_zone,
        "out_of_office_until": user.out_of_office_until,
    }


def staff_list() -> list[tuple[StaffUser, list[str]]]:
    """Every account, by name, with the names of its teams (two queries)."""
    users = list(db.session.scalars(select(StaffUser).order_by(StaffUser.name, StaffUser.id)))
    teams: dict[int, list[str]] = {}
    for user_id, name in db.session.execute(
        select(TeamMember.staff_user_id, Team.name)
        .join(Team, Team.id == TeamMember.team_id)
        .order_by(Team.name)
    ):
        teams.setdefault(user_id, []).append(name)
    return [(user, teams.get(user.id, [])) for user in users]


def all_teams() -> list[tuple[int, str]]:
    """Every team as (id, name), by name."""
    return [
        (team_id, name)
        for team_id, name in db.session.execute(select(Team.id, Team.name).order_by(Team.name))
    ]
