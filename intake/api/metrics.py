"""/metrics: Prometheus's view of the app (README: Metrics).

Protected. With ``INTAKE_METRICS_TOKEN`` set, only a request bearing
``Authorization: Bearer <token>`` gets the metrics (anything else: 401, no detail). Unset, only
this machine does (a loopback client address, as seen after the app's proxy handling; anyone
else: 404). A scrape is not a staff action: nothing is audited, and no patient data is in it
(every label comes from a fixed set).
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Response, current_app, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from intake.api import bp
from intake.api.instrument import request_collector
from intake.api.state import StateCollector

# Headers a proxy adds: without the app's proxy handling (INTAKE_PROXY_HOPS), a request bearing
# one came through a proxy on this machine, so its loopback address says nothing of the client.
FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-Ip")


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _bearer_matches(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def refusal() -> Response | None:
    """The answer for a caller who may not read the metrics, or None for one who may."""
    token = current_app.config.get("INTAKE_METRICS_TOKEN")
    if token:
        if _bearer_matches(token):
            return None
        return _bare(401, {"WWW-Authenticate": "Bearer"})
    proxied = not current_app.config.get("INTAKE_PROXY_HOPS") and any(
        name in request.headers for name in FORWARDED
    )
    if _loopback(request.remote_addr) and not proxied:
        return None
    return _bare(404)


def _bare(status: int, headers: dict | None = None) -> Response:
    response = Response(status=status, headers=headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def exposition(now=None) -> bytes:
    """The metrics in Prometheus's text format: requests (this process's, or every worker's in
    multiprocess mode), then the state read now."""
    registry = CollectorRegistry()
    request_collector(registry)
    registry.register(StateCollector(now))
    return generate_latest(registry)


@bp.get("/metrics")
def metrics():
    """Prometheus's scrape."""
    refused = refusal()
    if refused is not None:
        return refused
    response = Response(exposition(), mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
