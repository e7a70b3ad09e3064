"""Subscriptions: add, edit, disable, enable, and the signing secret (shown once, kept sealed).

The secret is a Standard Webhooks ``whsec_<base64>`` key, sealed with the encryption keyring and
bound to its endpoint, so it signs deliveries but a database dump cannot read it. Services check
the URL (``intake.webhooks.addresses``) and the events; callers commit."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime

from intake.display import lazy_gettext as _l
from intake.extensions import db, encryption
from intake.models import StaffUser, WebhookEndpoint
from intake.text import clean_line
from intake.webhooks.addresses import AddressRefused, resolve
from intake.webhooks.events import EVENT_TYPES

SECRET_BYTES = 32
DESCRIPTION_MAX = 200


class EndpointInputError(ValueError):
    """A subscription that cannot be saved; ``field`` names the form field it belongs to."""

    def __init__(self, message, *, field: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class EndpointData:
    url: str
    description: str
    events: tuple[str, ...]


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _context(endpoint: WebhookEndpoint) -> str:
    return f"webhook_endpoints:{endpoint.id}:secret"


def signing_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's secret, opened to sign a delivery."""
    return encryption.keyring.open(endpoint.secret_sealed, context=_context(endpoint)).decode()


def _seal(endpoint: WebhookEndpoint, secret: str) -> None:
    endpoint.secret_sealed = encryption.keyring.seal(secret.encode(), context=_context(endpoint))


def _checked(data: EndpointData, *, allow_private: bool) -> EndpointData:
    """The data, cleaned to one line each and checked (the admin form and the API alike)."""
    data = EndpointData(
        url=clean_line(data.url or "").strip(),
        description=clean_line(data.description or ""),
        events=tuple(data.events),
    )
    try:
        resolve(data.url, allow_private=allow_private)
    except AddressRefused as error:
        raise EndpointInputError(error.args[0], field="url") from None
    chosen = tuple(kind for kind in EVENT_TYPES if kind in data.events)
    if not chosen or len(chosen) != len(set(data.events)):
        raise EndpointInputError(_l("Choose at least one event from the list."), field="events")
    if len(data.description) > DESCRIPTION_MAX:
        raise EndpointInputError(
            _l("Keep the description under %(max)d characters.", max=DESCRIPTION_MAX),
            field="description",
        )
    return EndpointData(url=data.url, description=data.description, events=chosen)


def create_endpoint(
    *, data: EndpointData, actor: StaffUser | None, allow_private: bool, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """Subscribe a checked URL to events; the endpoint and its secret, to show once. ``actor``
    is None for an API key (the audit log names the key)."""
    data = _checked(data, allow_private=allow_private)
    endpoint = WebhookEndpoint(
        url=data.url, description=data.description, events=list(data.events),
        secret_sealed="", created_by_id=actor.id if actor else None, created_at=now,  # nosec B106: sealed below, once the row has its id
    )  # fmt: skip
    db.session.add(endpoint)
    db.session.flush()
    secret = new_secret()
    _seal(endpoint, secret)
    return endpoint, secret


def update_endpoint(*, endpoint: WebhookEndpoint, data: EndpointData, allow_private: bool) -> None:
    """Change the URL, description or events; the secret stays."""
    data = _checked(data, allow_private=allow_private)
    endpoint.url, endpoint.description, endpoint.events = (
        data.url,
        data.description,
        list(data.events),
    )


def rotate_secret(*, endpoint: WebhookEndpoint, now: datetime) -> str:
    """Replace the secret (the old one stops signing at once); the new one, to show once."""
    secret = new_secret()
    _seal(endpoint, secret)
    endpoint.secret_rotated_at = now
    return secret


def set_active(*, endpoint: WebhookEndpoint, active: bool, now: datetime) -> bool:
    """Disable (nothing more is sent) or enable; False when it already was."""
    if endpoint.active == active:
        return False
    endpoint.active = active
    endpoint.disabled_at = None if active else now
    return True
