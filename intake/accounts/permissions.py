"""Who may do what: every staff permission and the roles that hold it, in one place.

Views declare the one permission they need (``@requires``); a view that declares none is
refused to everybody. Which leads a person may touch at all is ``lead_scope``: admins see
every lead; coordinators and clinicians see the leads of their teams, their own leads and
the unassigned queue."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, or_, select, true

from intake.models import Lead, StaffUser, TeamMember

ADMIN, COORDINATOR, CLINICIAN = "admin", "coordinator", "clinician"
EVERYONE = frozenset({ADMIN, COORDINATOR, CLINICIAN})

PERMISSIONS: dict[str, frozenset[str]] = {
    # Signed in, any role: their own account pages.
    "account": EVERYONE,
    # Leads.
    "leads.view": EVERYONE,
    "leads.view_answers": frozenset({ADMIN, CLINICIAN}),
    "leads.work": frozenset({ADMIN, COORDINATOR}),
    "leads.note": EVERYONE,
    # Writing to the patient by email or text from the lead page.
    "leads.message": frozenset({ADMIN, COORDINATOR}),
    "leads.decide": frozenset({CLINICIAN}),
    "leads.assign": frozenset({ADMIN, COORDINATOR}),
    "leads.merge": frozenset({ADMIN, COORDINATOR}),
    "leads.erasure": frozenset({ADMIN, COORDINATOR}),
    "leads.export": frozenset({ADMIN, COORDINATOR}),
    "dashboard.view": EVERYONE,
    # The links and embed snippets for the clinic's articles (admins keep the list).
    "articles.view": frozenset({ADMIN, COORDINATOR}),
    # The staff calendar: everyone sees their own consults; admins anyone's.
    "calendar.view": EVERYONE,
    "calendar.view_all": frozenset({ADMIN}),
    # Administration.
    "admin.staff": frozenset({ADMIN}),
    "admin.routing": frozenset({ADMIN}),
    "admin.cadences": frozenset({ADMIN}),
    "admin.templates": frozenset({ADMIN}),
    "admin.questionnaire": frozenset({ADMIN}),
    "admin.mail": frozenset({ADMIN}),
    "admin.audit": frozenset({ADMIN}),
    "admin.retention": frozenset({ADMIN}),
    # Keys for the REST API (/api/v1): create, list, revoke.
    "admin.api_keys": frozenset({ADMIN}),
    # Lead import from a CSV file.
    "admin.import": frozenset({ADMIN}),
    # Consult types and anyone's hours (each person edits their own from their account).
    "admin.consults": frozenset({ADMIN}),
    "admin.articles": frozenset({ADMIN}),
    # Outgoing webhooks: subscriptions, their secrets, and the delivery ledger.
    "admin.webhooks": frozenset({ADMIN}),
}


def can(user: StaffUser | None, permission: str, config: Mapping | None = None) -> bool:
    """Whether the user's role holds the permission; an unknown permission is nobody's."""
    if user is None or not user.active:
        return False
    if (
        permission == "leads.view_answers"
        and user.role == COORDINATOR
        and (config or {}).get("INTAKE_COORDINATORS_SEE_ANSWERS")
    ):
        return True
    return user.role in PERMISSIONS.get(permission, frozenset())


def lead_scope(user: StaffUser) -> ColumnElement[bool]:
    """A WHERE clause limiting leads to those the user may see."""
    if user.role == ADMIN:
        return true()
    my_teams = select(TeamMember.team_id).where(TeamMember.staff_user_id == user.id)
    return or_(Lead.owner_id == user.id, Lead.team_id.is_(None), Lead.team_id.in_(my_teams))


def may_see_lead(user: StaffUser, lead: Lead, team_ids: set[int]) -> bool:
    """``lead_scope`` for one loaded lead, given the user's team ids."""
    return (
        user.role == ADMIN
        or lead.owner_id == user.id
        or lead.team_id is None
        or lead.team_id in team_ids
    )
