"""Routing choice, as pure logic: which rule matches a lead, who in a team is available now or
whose hours start next, who gets the next lead, and the reason stored with the decision. No
database access here; the service in ``routing`` loads the rows, locks them and records the
outcome."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from intake.models import Lead, RoutingRule, StaffUser, Team
from intake.routing.business_hours import next_shift_start, staff_available

ROUTABLE_FIELDS = ("country", "region", "eligibility_outcome", "ms_type", "utm_campaign", "source")
REASON_LENGTH = 300
# Why admins are alerted; the index is the alert's ledger step (0 kept for "no rule matched").
ALERT_CASES = ("no_rule", "no_member", "overdue")

# How a choice gives the lead out: to someone working now, to the member whose hours start
# next, held by the team until hours start, or held by a team with nobody who can take it.
NOW, NEXT, HOLD, NO_MEMBER = "now", "next", "hold", "no_member"


@dataclass(frozen=True)
class Choice:
    rule: RoutingRule
    team: Team
    member: StaffUser | None
    open_leads: int = 0
    passed_over: tuple[str, ...] = ()
    kind: str = NOW
    starts_at: datetime | None = None  # when the owner's (or, held, the first member's) hours start


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


def _by_strategy(team: Team, candidates: list[StaffUser], lead_counts: dict[int, int]):
    """Round robin: the first after the team's cursor (wrapping); least loaded: fewest leads."""
    if team.strategy == "least_loaded":
        return min(candidates, key=lambda member: (lead_counts.get(member.id, 0), member.id))
    cursor = team.last_assigned_id
    after_cursor = [member for member in candidates if cursor is None or member.id > cursor]
    return (after_cursor or candidates)[0]


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
    return _by_strategy(team, available, lead_counts) if available else None


def next_start(member: StaffUser, *, open_leads: int, now: datetime) -> datetime | None:
    """When this member can next take a lead (``now`` if they can now); None if they cannot:
    inactive or at capacity. Out of office counts from their return."""
    if not member.active or (member.capacity is not None and open_leads >= member.capacity):
        return None
    back = member.out_of_office_until
    after = back if back is not None and back > now else now
    return next_shift_start(member.working_hours, member.time_zone, after)


def choose_next_on_shift(
    *, team: Team, members: Sequence[StaffUser], lead_counts: dict[int, int], now: datetime
) -> tuple[StaffUser, datetime] | None:
    """The member whose working hours start soonest, and when; ties shared by the team's
    strategy, so a weekend's leads are spread over Monday's shift, not piled on one person."""
    starts = {}
    for member in sorted(members, key=lambda member: member.id):
        start = next_start(member, open_leads=lead_counts.get(member.id, 0), now=now)
        if start is not None:
            starts[member.id] = (member, start)
    if not starts:
        return None
    soonest = min(start for _, start in starts.values())
    tied = [member for member, start in starts.values() if start == soonest]
    return _by_strategy(team, tied, lead_counts), soonest


def working_now(now: datetime, exclude: Collection[int] = ()):
    """A chooser for ``routing``: the member working now, by the team's strategy."""

    def choose(rule, team, members, counts) -> Choice | None:
        member = choose_member(
            team=team, members=members, lead_counts=counts, now=now, exclude=exclude
        )
        if member is None:
            return None
        return Choice(rule=rule, team=team, member=member, open_leads=counts.get(member.id, 0))

    return choose


def starting_next(now: datetime):
    """A chooser for ``routing``: the next on shift, or a hold, by the team's setting."""

    def choose(rule, team, members, counts) -> Choice | None:
        found = choose_next_on_shift(team=team, members=members, lead_counts=counts, now=now)
        if found is None:
            return None
        member, starts_at = found
        if team.off_hours == "hold":
            return Choice(rule=rule, team=team, member=None, kind=HOLD, starts_at=starts_at)
        return Choice(
            rule=rule,
            team=team,
            member=member,
            open_leads=counts.get(member.id, 0),
            kind=NEXT,
            starts_at=starts_at,
        )

    return choose


def when(moment: datetime, zone: ZoneInfo) -> str:
    """A start time in a decision's reason: "Mon 09:00 EST", in the clinic's time zone."""
    return moment.astimezone(zone).strftime("%a %H:%M %Z")


def reason_for(choice: Choice, zone: ZoneInfo) -> str:
    """The stored reason: the rule, then how the team gave the lead out."""
    team, member = choice.team, choice.member
    if choice.kind == NOW and team.strategy == "least_loaded":
        plural = "" if choice.open_leads == 1 else "s"
        how = f"least loaded ({choice.open_leads} open lead{plural})"
    elif choice.kind == NOW:
        how = "round robin"
    elif choice.kind == NEXT:
        how = f"next on shift: {member.name} ({when(choice.starts_at, zone)})"
    elif choice.kind == HOLD:
        how = f"held for team '{team.name}' until hours start ({when(choice.starts_at, zone)})"
    else:
        how = f"held for team '{team.name}': no member can take leads"
    reason = f"rule '{choice.rule.name}', {how}"
    if choice.passed_over:
        names = ", ".join(f"'{name}'" for name in choice.passed_over)
        gap = "nobody available" if choice.kind == NOW else "no member can take leads"
        reason += f"; {gap} under rule {names}"
    return reason[:REASON_LENGTH]
