"""Retention: the purge erases closed leads past their retention period and nothing else, in
batches, as the periodic task runs it."""

from __future__ import annotations

from sqlalchemy import func, select

from intake.extensions import db
from intake.leads.retention import purge_expired
from intake.models import AuditEvent, ConversationMessage, Lead
from intake.models.types import utcnow
from tests.factories import audit_count, make_lead
from tests.leads.conftest import age, assert_conversation_erased, full_lead
from workers.tasks import purge_retention


def test_the_purge_erases_only_closed_leads_past_retention(app):
    expired = full_lead(app, status="not_interested")
    recent = full_lead(app, status="unreachable", email="recent@example.org")
    still_open = full_lead(app, status="contacted", email="open@example.org")
    age(app, expired, 31)
    age(app, recent, 29)
    age(app, still_open, 400)
    with app.app_context():
        assert purge_expired(now=utcnow(), retention_days=30) == 1
        db.session.commit()
    with app.app_context():
        assert db.session.get(Lead, recent).email == "recent@example.org"
        assert db.session.get(Lead, still_open).email == "open@example.org"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lead.erased"))
        assert (event.lead_ids, event.actor_id, event.detail["reason"]) == (
            [expired],
            None,
            "retention",
        )
    with app.app_context():
        lead = db.session.get(Lead, expired)
        assert lead.erased_at is not None and lead.email is None and lead.caregiver_email is None
        assert purge_expired(now=utcnow(), retention_days=30) == 0  # never twice
    assert_conversation_erased(app, expired)
    with app.app_context():  # the leads kept keep their conversation
        kept = db.session.scalars(
            select(ConversationMessage.body_sealed).where(ConversationMessage.lead_id == recent)
        ).all()
        assert len(kept) == 2 and None not in kept
        assert db.session.get(Lead, recent).reply_token is not None


def test_the_periodic_task_purges_in_batches_until_done(app_factory):
    app = app_factory(INTAKE_RETENTION_DAYS=10)
    with app.app_context():
        ids = [make_lead(status="not_eligible", email=f"p{n}@example.org").id for n in range(3)]
        db.session.commit()
    for lead_id in ids:
        age(app, lead_id, 11)
    with app.app_context():
        assert purge_retention.run() == 3
        assert (
            db.session.scalar(
                select(func.count()).select_from(Lead).where(Lead.erased_at.is_(None))
            )
            == 0
        )
    assert audit_count(app, action="lead.erased") == 3
