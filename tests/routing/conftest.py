"""Routing scenarios: staff with room to take leads, a lead in Virginia, routing it at NOW, and
sweeps run twice at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from intake.extensions import db
from intake.models import Lead, RoutingDecision, Send, StaffUser
from intake.routing.service import route_lead
from tests.factories import make_lead, make_staff

NOW = datetime(2024, 5, 15, 15, 0, tzinfo=UTC)  # a Wednesday, 11:00 in New York
# Pat, who gave no email or phone yet, so routing is all that happens to them.
PAT = dict(
    first_name="Pat", last_name="Doe", email=None, phone=None, region="Virginia",
    time_zone_source="form",
)  # fmt: skip


def member(name: str, *, role: str = "coordinator", **fields) -> StaffUser:
    """A staff account named ``name``, with room for every lead a test routes."""
    return make_staff(role, name=name, **{"capacity": 1000, **fields})


def new_lead(**fields) -> Lead:
    """Pat's lead (``fields`` override), with no consents."""
    return make_lead(consents=(), **{**PAT, **fields})


def route(lead: Lead, **kwargs) -> RoutingDecision:
    decision = route_lead(lead_id=lead.id, now=kwargs.pop("now", NOW), **kwargs)
    db.session.commit()
    return decision


def sends(cadence: str) -> list[Send]:
    return list(db.session.scalars(select(Send).where(Send.cadence == cadence).order_by(Send.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def at_once(app, work, copies: int = 2) -> tuple[list, list]:
    """``work()`` in ``copies`` threads released together, each in its own app context and
    committing after: what each returned, and what each raised."""
    results, errors, barrier = [], [], threading.Barrier(copies)

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                results.append(work())
                db.session.commit()
        except Exception as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors
