"""Teams and routing rules (``admin.routing``): list, create and edit."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from intake.extensions import db
from intake.models import RoutingRule, Team
from intake.routing.admin import AdminInputError, RuleData, TeamData, save_rule, save_team
from intake.staff import bp
from intake.staff.access import audit, deny, requires
from intake.staff.admin.forms import RuleForm, TeamForm
from intake.staff.admin.home_views import audit_page_view
from intake.staff.queries.routing import list_rules, list_teams, member_ids, staff_for_teams


@bp.get("/admin/teams")
@requires("admin.routing")
def admin_teams():
    """Every team, its strategy, lead and members."""
    teams = list_teams()
    audit_page_view()
    return render_template("staff/admin/teams.html", teams=teams)


def _team_or_404(team_id: int | None) -> Team | None:
    team = db.session.get(Team, team_id) if team_id is not None else None
    if team_id is not None and team is None:
        deny(target=f"team:{team_id}", code=404)
    return team


@bp.route("/admin/teams/new", methods=["GET", "POST"], endpoint="admin_team_new")
@bp.route("/admin/teams/<int:team_id>", methods=["GET", "POST"])
@requires("admin.routing")
def admin_team(team_id: int | None = None):
    """Create or edit a team: name, strategy, what happens off hours, team lead and members."""
    team = _team_or_404(team_id)
    form = TeamForm(obj=team)
    form.set_staff(staff_for_teams())
    if request.method == "GET":
        form.lead_staff_id.data = (team.lead_staff_id or 0) if team else 0
        form.member_ids.data = member_ids(team.id) if team else []
        audit_page_view(team_id=team_id)
    elif form.validate_on_submit() and _saved_team(form, team):
        flash(_("The team is saved."), "success")
        return redirect(url_for("staff.admin_teams"))
    else:
        _audit_failure("routing.team_saved", form, team_id)
    return render_template("staff/admin/team_form.html", form=form, team=team)


def _saved_team(form: TeamForm, team: Team | None) -> bool:
    data = TeamData(
        name=form.name.data,
        strategy=form.strategy.data,
        off_hours=form.off_hours.data,
        lead_staff_id=form.lead_staff_id.data or None,
        member_ids=tuple(form.member_ids.data or ()),
    )
    return _saved(form, "team", team, lambda: save_team(team=team, data=data))


def _saved(form, kind: str, before, save: Callable[[], Team | RoutingRule]) -> bool:
    """Run ``save``; a rule the form could not check goes back to its field, unsaved. Saved,
    it is audited as ``routing.<kind>_saved`` and committed."""
    try:
        saved = save()
    except AdminInputError as error:
        db.session.rollback()
        form[error.field].errors.append(error.message)
        return False
    detail = {"id": saved.id, "created": before is None}
    audit(f"routing.{kind}_saved", target=f"{kind}:{saved.id}", detail=detail)
    db.session.commit()
    return True


def _audit_failure(action: str, form, object_id: int | None) -> None:
    audit(action, outcome="failed", detail={"id": object_id, "fields": sorted(form.errors)})
    db.session.commit()


@bp.get("/admin/rules")
@requires("admin.routing")
def admin_rules():
    """Every routing rule in the order they are tried."""
    rules = list_rules()
    audit_page_view()
    return render_template("staff/admin/rules.html", rules=rules)


def _rule_form(rule: RoutingRule | None) -> RuleForm:
    form = RuleForm(obj=rule)
    ms_item = current_app.extensions["intake.definition"].questionnaire.items.get("ms_type")
    ms_types = [option.code for option in ms_item.options] if ms_item else []
    form.set_choices([team for team, _ in list_teams()], ms_types)
    if request.method == "GET":
        form.active.data = rule.active if rule else True
        for field, values in ((rule.conditions or {}) if rule else {}).items():
            if f"cond_{field}" in form:
                form[f"cond_{field}"].data = ", ".join(map(str, values))
    return form


@bp.route("/admin/rules/new", methods=["GET", "POST"], endpoint="admin_rule_new")
@bp.route("/admin/rules/<int:rule_id>", methods=["GET", "POST"])
@requires("admin.routing")
def admin_rule(rule_id: int | None = None):
    """Create or edit a routing rule: name, priority, team, conditions, active."""
    rule = db.session.get(RoutingRule, rule_id) if rule_id is not None else None
    if rule_id is not None and rule is None:
        deny(target=f"rule:{rule_id}", code=404)
    form = _rule_form(rule)
    if request.method == "GET":
        audit_page_view(rule_id=rule_id)
    elif form.validate_on_submit() and _saved_rule(form, rule):
        flash(_("The routing rule is saved."), "success")
        return redirect(url_for("staff.admin_rules"))
    else:
        _audit_failure("routing.rule_saved", form, rule_id)
    return render_template("staff/admin/rule_form.html", form=form, rule=rule)


def _saved_rule(form: RuleForm, rule: RoutingRule | None) -> bool:
    data = RuleData(
        name=form.name.data,
        priority=form.priority.data,
        team_id=form.team_id.data,
        conditions=form.conditions(),
        active=bool(form.active.data),
    )
    return _saved(form, "rule", rule, lambda: save_rule(rule=rule, data=data))
