"""Absolute links for pages and emails, built from INTAKE_BASE_URL and never from the request's
Host header (which the visitor chooses): a link the app shows or sends always leads to the
clinic's own address."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import URLSafeSerializer


def link_serializer(salt: str) -> URLSafeSerializer:
    """Signs the tokens in patients' links (unsubscribe, booking): with the newest secret key,
    while links signed with a rotated one (SECRET_KEY_FALLBACKS) keep working."""
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeSerializer(keys, salt=salt)


def absolute_url(endpoint: str, **values) -> str:
    """The full address of a route as people reach it; works in a request, a task or a command."""
    base = urlsplit(current_app.config["INTAKE_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
