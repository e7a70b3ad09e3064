"""A real Celery worker and beat deliver a webhook: the relay fans the event out, the first try
gets a 500, the periodic sweep retries it after its backoff, and the loopback receiver verifies
the signature of each try with the Standard Webhooks library; one success is recorded."""

from __future__ import annotations

import pytest

from intake.extensions import db
from intake.leads.pipeline import change_status
from intake.models import WebhookDelivery
from intake.models.types import utcnow
from intake.webhooks.endpoints import EndpointData, create_endpoint
from tests.factories import make_lead, make_staff
from tests.live import wait_until
from tests.webhooks.support import receiver_on_loopback

pytestmark = pytest.mark.timeout(180)


def rows(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [
            (row.status, row.attempts) for row in db.session.scalars(db.select(WebhookDelivery))
        ]


def test_a_worker_delivers_retries_after_a_failure_and_records_one_success(
    worker_app, start_worker
):
    with receiver_on_loopback(["500"]) as receiver, worker_app.app_context():
        data = EndpointData(url=receiver.url, description="", events=("lead.status_changed",))
        _, receiver.secret = create_endpoint(data=data, actor=make_staff("admin"),
                                             allow_private=True, now=utcnow())  # fmt: skip
        lead = make_lead(status="new")
        db.session.commit()
        change_status(lead=lead, to="contacted", reason=None, actor=None, now=utcnow())
        db.session.commit()
        start_worker(beat=True)
        wait_until(lambda: rows(worker_app) == [("succeeded", 2)], timeout=90)
    assert len(receiver.received) == 2 and len(receiver.verified) == 2
    assert len({headers["webhook-id"] for headers, _, _ in receiver.received}) == 1
    assert receiver.verified[-1]["data"]["status"] == "contacted"
