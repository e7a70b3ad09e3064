"""Request metrics: a counter and a latency histogram per Flask endpoint, method and status
class (README: Metrics).

Labels come from fixed sets only: the url rule's endpoint name (never the path, which holds
link tokens and ids), the method, and the status class. A request no rule matched (an unknown
path, a wrong method) counts under ``UNMATCHED``. The work per request is a clock read, one
counter increment and one histogram observation: no database, no locks beyond the metric's own.

Under gunicorn each worker is its own process. With ``PROMETHEUS_MULTIPROC_DIR`` set (before
the first import of prometheus_client) the values go to files in that folder, and a scrape of
any worker adds up every worker's files (``request_collector``); without it, each process keeps
its own values in ``REGISTRY``.
"""

from __future__ import annotations

import os
import time

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.multiprocess import MultiProcessCollector

from intake.api import bp

# No ``*_created`` series: Prometheus does not need them, and they double the exposition.
disable_created_metrics()

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; most pages answer in tens of milliseconds, a slow report in a few seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "intake_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status class.",
    ("endpoint", "method", "status"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "intake_http_request_duration_seconds",
    "Time from the start of the request to its response, by endpoint, method and status class.",
    ("endpoint", "method", "status"),
    buckets=BUCKETS,
    registry=REGISTRY,
)


def multiprocess_dir() -> str | None:
    """The folder the worker processes share their values in, when there is one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def request_collector(registry: CollectorRegistry) -> None:
    """Add the request metrics to a scrape's ``registry``: every worker's, summed, in
    multiprocess mode; this process's otherwise."""
    path = multiprocess_dir()
    if path:
        MultiProcessCollector(registry, path=path)
    else:
        registry.register(_ThisProcess())


class _ThisProcess:
    """This process's request metrics, as one collector (a scrape's registry lives once)."""

    def collect(self):
        return REGISTRY.collect()


def status_class(code: int) -> str:
    return f"{code // 100}xx" if 100 <= code < 600 else "other"


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("metrics_started", None)
    rule = request.url_rule
    endpoint = rule.endpoint if rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "other"
    status = status_class(response.status_code)
    REQUESTS.labels(endpoint, method, status).inc()
    if started is not None:
        LATENCY.labels(endpoint, method, status).observe(time.perf_counter() - started)
    return response


@bp.record_once
def _install(state) -> None:
    install(state.app)


def install(app: Flask) -> None:
    """Time every request of ``app``: the clock starts before any other ``before_request``
    (so a request another hook answers early is timed too) and stops after every other
    ``after_request`` (so the status counted is the one sent)."""
    path = multiprocess_dir()
    if path:  # gunicorn's config makes it; `flask run` or a worker with the variable set may not
        os.makedirs(path, exist_ok=True)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _observe)
