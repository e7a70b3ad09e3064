"""Read models for the webhook admin pages: endpoints with their delivery counts, one
endpoint's recent deliveries, and every dead delivery."""

from __future__ import annotations

from sqlalchemy import func, select

from intake.extensions import db
from intake.models import WebhookDelivery, WebhookEndpoint

RECENT = 50
DEAD_SHOWN = 200


def endpoints_with_counts() -> list[tuple[WebhookEndpoint, dict[str, int]]]:
    """Every endpoint, newest first, with how many deliveries are in each status: two queries."""
    endpoints = list(
        db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc()))
    )
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, status, count in db.session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.status
        )
    ):
        counts.setdefault(endpoint_id, {})[status] = count
    return [(endpoint, counts.get(endpoint.id, {})) for endpoint in endpoints]


def recent_deliveries(endpoint_id: int) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(RECENT)
        )
    )


def dead_deliveries() -> list[tuple[WebhookDelivery, str]]:
    """Deliveries that gave up, newest first, with their endpoint's address."""
    return [
        (row, url)
        for row, url in db.session.execute(
            select(WebhookDelivery, WebhookEndpoint.url)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == "dead")
            .order_by(WebhookDelivery.id.desc())
            .limit(DEAD_SHOWN)
        )
    ]
