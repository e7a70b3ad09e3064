"""Changing many leads at once from the queue: each lead within the actor's scope is changed
on its own; a lead that cannot be changed is reported by id, not fatal to the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, select

from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.leads.pipeline import TransitionError, assign_lead, change_status
from intake.models import Lead, StaffUser

BULK_MAX = 200


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    refused: dict[int, str | LazyText] = field(default_factory=dict)  # lead id → why, in words


def bulk_assign(
    *,
    lead_ids: list[int],
    owner: StaffUser,
    actor: StaffUser,
    scope: ColumnElement[bool],
    now: datetime,
) -> BulkResult:
    """Assign each lead within ``scope`` (the actor's) to ``owner``; the rest are reported,
    not fatal."""
    return _each_lead(
        lead_ids, scope, lambda lead: assign_lead(lead=lead, owner=owner, actor=actor, now=now)
    )


def bulk_change_status(
    *,
    lead_ids: list[int],
    to: str,
    reason: str | None,
    actor: StaffUser,
    scope: ColumnElement[bool],
    now: datetime,
) -> BulkResult:
    """Move each lead within ``scope`` (the actor's) to ``to``; refused moves are reported by
    id."""
    return _each_lead(
        lead_ids,
        scope,
        lambda lead: change_status(lead=lead, to=to, reason=reason, actor=actor, now=now),
    )


def _each_lead(lead_ids: list[int], scope: ColumnElement[bool], change) -> BulkResult:
    found = {
        lead.id: lead
        for lead in db.session.scalars(
            select(Lead).where(Lead.id.in_(lead_ids), scope).order_by(Lead.id)
        )
    }
    result = BulkResult()
    for lead_id in lead_ids:
        lead = found.get(lead_id)
        if lead is None:
            result.refused[lead_id] = _l("Not found among the leads you can see.")
            continue
        try:
            change(lead)
        except TransitionError as exc:
            result.refused[lead_id] = str(exc)
        else:
            result.changed.append(lead_id)
    return result
