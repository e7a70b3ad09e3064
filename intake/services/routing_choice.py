"""Routing choice, as pure logic: which rule matches a lead, who in a team is available, who
gets the next lead, and the reason stored with the decision. No database access here; the
service in ``routing`` loads the rows, locks them and records the outcome."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from intake.models import Lead, RoutingRule, StaffUser, Team
from intake.services.business_hours import staff_available

ROUTABLE_FIELDS = ("country", "region", "eligibility_outcome", "ms_type", "utm_campaign", "source")
REASON_LENGTH = 300


@dataclass(frozen=True)
class Choice:
    rule: RoutingRule
    team: Team
    member: StaffUser
    open_leads: int
    passed_over: tuple[str, ...] = ()


def _accepted(values) -> set[str]:
    """A condition's accepted values, normalised; a bare string counts as a one-item list."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        values = [values]
    return {str(value).strip().casefold() for value in values if value is not None}


def rule_matches(rule: RoutingRule, lead: Lead) -> bool:
    """Every condition holds; an unknown field never matches, an empty list accepts anything."""
    for field, values in (rule.conditions or {}).items():
        if field not in ROUTABLE_FIELDS:
            return False
        accepted = _accepted(values)
        actual = getattr(lead, field)
        if accepted and (actual is None or str(actual).strip().casefold() not in accepted):
            return False
    return True


def matching_rules(rules: Iterable[RoutingRule], lead: Lead) -> list[RoutingRule]:
    """The active rules that match, in the order they are tried."""
    ordered = sorted(
        (rule for rule in rules if rule.active is not False),
        key=lambda rule: (rule.priority, rule.id or 0),
    )
    return [rule for rule in ordered if rule_matches(rule, lead)]


def match_rule(rules: Iterable[RoutingRule], lead: Lead) -> RoutingRule | None:
    """The first rule, by priority then id, whose conditions the lead meets."""
    matches = matching_rules(rules, lead)
    return matches[0] if matches else None


def is_available(member: StaffUser, *, open_leads: int, now: datetime) -> bool:
    """Active, not out of office, inside their own working hours and below capacity."""
    away = member.out_of_office_until is not None and member.out_of_office_until > now
    full = member.capacity is not None and open_leads >= member.capacity
    return (
        bool(member.active)
        and not away
        and not full
        and staff_available(member.working_hours, member.time_zone, now)
    )


def choose_member(
    *,
    team: Team,
    members: Sequence[StaffUser],
    lead_counts: dict[int, int],
    now: datetime,
    exclude: Collection[int] = (),
) -> StaffUser | None:
    """The team member who should get the next lead, or None when nobody can take it."""
    available = [
        member
        for member in sorted(members, key=lambda member: member.id)
        if member.id not in exclude
        and is_available(member, open_leads=lead_counts.get(member.id, 0), now=now)
    ]
    if not available:
        return None
    if team.strategy == "least_loaded":
        return min(available, key=lambda member: (lead_counts.get(member.id, 0), member.id))
    cursor = team.last_assigned_id
    after_cursor = [member for member in available if cursor is None or member.id > cursor]
    return (after_cursor or available)[0]


def reason_for(choice: Choice) -> str:
    if choice.team.strategy == "least_loaded":
        plural = "" if choice.open_leads == 1 else "s"
        how = f"least loaded ({choice.open_leads} open lead{plural})"
    else:
        how = "round robin"
    reason = f"rule '{choice.rule.name}', {how}"
    if choice.passed_over:
        names = ", ".join(f"'{name}'" for name in choice.passed_over)
        reason += f"; nobody available under rule {names}"
    return reason[:REASON_LENGTH]
