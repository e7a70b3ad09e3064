"""Teams, routing rules and the decisions they produce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

STRATEGIES = ("round_robin", "least_loaded")
# Outside every member's hours: give the lead to whoever starts next, or hold it for the team.
OFF_HOURS = ("next_on_shift", "hold")


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    strategy: Mapped[str] = mapped_column(String(16), default="round_robin")
    off_hours: Mapped[str] = mapped_column(String(16), default="next_on_shift")
    lead_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # Round robin: the member who got the last lead (the team row is locked while choosing).
    last_assigned_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMember(db.Model):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)


class RoutingRule(db.Model):
    """Matched in ascending priority; conditions map lead fields to accepted values."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    priority: Mapped[int] = mapped_column(default=100)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    # e.g. {"country": ["US"], "region": ["FL", "Florida"], "eligibility_outcome": [...]}
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)


class RoutingDecision(db.Model):
    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rules.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reason: Mapped[str] = mapped_column(String(300))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
