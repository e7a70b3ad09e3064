"""Webhook subscriptions through the API (scope ``webhooks:manage``), by the same services as
the admin pages (``intake.webhooks.endpoints``, ``intake.webhooks.delivery``): the same address
and event rules, secrets shown once, dead deliveries retried. DELETE disables a subscription
(nothing more is sent; it and its deliveries stay on record, and PATCH active=true resumes)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from intake.api.v1.auth import requires_scope
from intake.api.v1.idempotency import idempotent
from intake.api.v1.paging import decode_cursor, encode_cursor, page_size
from intake.api.v1.webhook_schemas import (
    DeliveryArgs,
    DeliveryPageSchema,
    DeliverySchema,
    EventTypesSchema,
    WebhookCreatedSchema,
    WebhookInSchema,
    WebhookListSchema,
    WebhookPatchSchema,
    WebhookSchema,
    WebhookSecretSchema,
)
from intake.extensions import db
from intake.models import WebhookDelivery, WebhookEndpoint
from intake.models.types import utcnow
from intake.webhooks import delivery, endpoints
from intake.webhooks.endpoints import EndpointData, EndpointInputError
from intake.webhooks.events import EVENT_TYPES

SCOPE = "webhooks:manage"

blp = Blueprint("api_v1_webhooks", __name__, description="Webhook subscriptions.")


def _allow_private() -> bool:
    return current_app.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"]


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _refused(error: EndpointInputError):
    abort(422, errors={error.field: [str(error.message)]})


@blp.route("/webhooks/events", methods=["GET"])
@requires_scope(SCOPE)
@blp.response(200, EventTypesSchema)
def list_webhook_events():
    """The event types a subscription may choose."""
    return {"items": list(EVENT_TYPES)}


@blp.route("/webhooks", endpoint="webhooks")
class WebhookCollection(MethodView):
    @requires_scope(SCOPE)
    @blp.response(200, WebhookListSchema)
    def get(self):
        """Every subscription, newest first (never its secret)."""
        rows = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc()))
        return {"items": list(rows)}

    @requires_scope(SCOPE)
    @idempotent
    @blp.arguments(WebhookInSchema)
    @blp.response(201, WebhookCreatedSchema)
    def post(self, body: dict):
        """Subscribe a URL to events; the signing secret is in this answer only.

        The URL must be https and reach only public addresses (as on the admin page)."""
        data = EndpointData(url=body["url"], description=body["description"],
                            events=tuple(body["events"]))  # fmt: skip
        try:
            endpoint, secret = endpoints.create_endpoint(
                data=data, actor=None, allow_private=_allow_private(), now=utcnow()
            )
        except EndpointInputError as error:
            _refused(error)
        shown = {name: getattr(endpoint, name) for name in WebhookSchema._declared_fields}
        return {**shown, "secret": secret}


@blp.route("/webhooks/<int:endpoint_id>", endpoint="webhook")
class WebhookResource(MethodView):
    @requires_scope(SCOPE)
    @blp.response(200, WebhookSchema)
    def get(self, endpoint_id: int):
        """One subscription (never its secret)."""
        return _endpoint(endpoint_id)

    @requires_scope(SCOPE)
    @blp.arguments(WebhookPatchSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, changes: dict, endpoint_id: int):
        """Change the URL, events or description (checked as on creation), or turn it off or on."""
        endpoint = _endpoint(endpoint_id)
        if changes.keys() & {"url", "events", "description"}:
            data = EndpointData(
                url=changes.get("url", endpoint.url),
                description=changes.get("description", endpoint.description),
                events=tuple(changes.get("events", endpoint.events)),
            )
            try:
                endpoints.update_endpoint(
                    endpoint=endpoint, data=data, allow_private=_allow_private()
                )
            except EndpointInputError as error:
                _refused(error)
        if "active" in changes:
            endpoints.set_active(endpoint=endpoint, active=changes["active"], now=utcnow())
        db.session.commit()
        return endpoint

    @requires_scope(SCOPE)
    @blp.response(204)
    def delete(self, endpoint_id: int):
        """Disable the subscription: nothing more is sent; it and its deliveries stay on record
        (PATCH active=true resumes)."""
        endpoints.set_active(endpoint=_endpoint(endpoint_id), active=False, now=utcnow())
        db.session.commit()


@blp.route("/webhooks/<int:endpoint_id>/rotate-secret", methods=["POST"])
@requires_scope(SCOPE)
@idempotent
@blp.response(200, WebhookSecretSchema)
def rotate_webhook_secret(endpoint_id: int):
    """Replace the signing secret (the old one stops signing at once); the new one is in this
    answer only."""
    endpoint = _endpoint(endpoint_id)
    secret = endpoints.rotate_secret(endpoint=endpoint, now=utcnow())
    return {"id": endpoint.id, "secret": secret}


@blp.route("/webhooks/<int:endpoint_id>/deliveries", methods=["GET"])
@requires_scope(SCOPE)
@blp.arguments(DeliveryArgs, location="query", as_kwargs=True)
@blp.response(200, DeliveryPageSchema)
def list_webhook_deliveries(endpoint_id: int, **args):
    """The subscription's deliveries, newest first, in keyset pages (never their payloads)."""
    _endpoint(endpoint_id)
    size, kind = page_size(args.get("limit")), f"webhook-deliveries:{endpoint_id}"
    conditions = [WebhookDelivery.endpoint_id == endpoint_id]
    after = decode_cursor(args.get("cursor"), kind, dated=False)
    if after is not None:
        conditions.append(WebhookDelivery.id < after[1])
    rows = db.session.scalars(
        select(WebhookDelivery)
        .where(*conditions)
        .order_by(WebhookDelivery.id.desc())
        .limit(size + 1)
    ).all()
    more, rows = len(rows) > size, rows[:size]
    cursor = encode_cursor(kind, None, rows[-1].id) if more else None
    return {"items": rows, "next_cursor": cursor}


@blp.route("/webhooks/deliveries/<int:delivery_id>/retry", methods=["POST"])
@requires_scope(SCOPE)
@idempotent
@blp.response(200, DeliverySchema)
@blp.alt_response(409, description="The delivery is not dead: nothing to retry.")
def retry_webhook_delivery(delivery_id: int):
    """Try a dead delivery again from its first try (the same webhook-id); 409 when it is not
    dead."""
    if db.session.get(WebhookDelivery, delivery_id) is None:
        abort(404)
    if not delivery.retry_dead(delivery_id=delivery_id, now=utcnow()):
        abort(409, message="This delivery is not dead, so there is nothing to retry.")
    return db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
