"""The JSON shapes of webhook subscriptions and their deliveries (never a secret in a list,
never a delivery's payload)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from intake.api.v1.schemas import PageArgs, StrictSchema
from intake.webhooks.addresses import URL_MAX
from intake.webhooks.endpoints import DESCRIPTION_MAX
from intake.webhooks.events import EVENT_TYPES


class WebhookSchema(ma.Schema):
    """A subscription: where events go and which."""

    id = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    events = ma.fields.List(ma.fields.String(), required=True)
    active = ma.fields.Boolean(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = ma.fields.String(
        metadata={
            "description": "The signing secret (whsec_...), in this answer only: a replay "
            "with the same Idempotency-Key answers without it (rotate it if it was lost)."
        }
    )


class WebhookSecretSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    secret = ma.fields.String(
        metadata={"description": "The new signing secret, in this answer only."}
    )


class WebhookInSchema(StrictSchema):
    url = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=URL_MAX),
        metadata={"description": "https, on the public internet."},
    )
    events = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=64)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES) * 2),
        metadata={"description": f"Event types, from: {', '.join(EVENT_TYPES)}."},
    )
    description = ma.fields.String(validate=validate.Length(max=DESCRIPTION_MAX), load_default="")


class WebhookPatchSchema(StrictSchema):
    url = ma.fields.String(validate=validate.Length(min=1, max=URL_MAX))
    events = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=64)),
        validate=validate.Length(min=1, max=len(EVENT_TYPES) * 2),
    )
    description = ma.fields.String(validate=validate.Length(max=DESCRIPTION_MAX))
    active = ma.fields.Boolean(metadata={"description": "false stops sending; true resumes."})

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give url, events, description or active.", "url")


class WebhookListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WebhookSchema), required=True)


class EventTypesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.String(), required=True)


class DeliverySchema(ma.Schema):
    """One event for one subscriber: its state, never its payload."""

    id = ma.fields.Integer(required=True)
    endpoint_id = ma.fields.Integer(required=True)
    message_id = ma.fields.String(required=True, metadata={"description": "The webhook-id."})
    event_type = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True, metadata={"description": "pending, sending, succeeded or dead."}
    )
    attempts = ma.fields.Integer(required=True)
    last_status_code = ma.fields.Integer(allow_none=True, required=True)
    last_error = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The kind of the last failure (timeout, HTTP 500...)."},
    )
    created_at = ma.fields.AwareDateTime(required=True)
    succeeded_at = ma.fields.AwareDateTime(allow_none=True, required=True)


class DeliveryPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)


DeliveryArgs = PageArgs
