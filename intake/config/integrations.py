"""Settings for the clinic's other systems: the REST API, webhooks, lead import, embedding on
the clinic's own pages, and metrics. Each has a safe default (README: Configuration)."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit


def _words(raw: str | None) -> tuple[str, ...]:
    return tuple(word.strip() for word in (raw or "").replace(",", " ").split() if word.strip())


# A host name or an IPv4 address (letters, digits, dots and dashes), or an IPv6 one in brackets.
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")


def embed_origin(entry: str) -> str | None:
    """``entry`` as an origin the CSP can name (``scheme://host[:port]``, lower-cased), or None
    when it is not one: no path, query, user, wildcard or other scheme."""
    try:
        parts = urlsplit(entry)
        port = parts.port
    except ValueError:
        return None
    host = parts.netloc.lower().rsplit(":", 1)[0] if port is not None else parts.netloc.lower()
    if (
        parts.scheme.lower() not in ("http", "https")
        or parts.path
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or not _HOST.fullmatch(host)
    ):
        return None
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def embed_origins(raw: str | None) -> tuple[str, ...]:
    """INTAKE_EMBED_ORIGINS read: each entry an origin, or a ConfigError naming the setting."""
    from intake.config import ConfigError  # the package imports this module first

    origins = []
    for entry in _words(raw):
        origin = embed_origin(entry)
        if origin is None:
            raise ConfigError(
                "INTAKE_EMBED_ORIGINS must list origins like https://www.clinic.example "
                f"(scheme://host[:port], nothing after it), got {entry!r}"
            )
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


class IntegrationSettings:
    """Mixed into every environment's settings; ``read_integrations`` reads the environment."""

    # Calls per API key (Flask-Limiter's notation); a key over it gets 429 problem details.
    INTAKE_API_RATE_LIMIT = "300 per minute;10000 per hour"
    # Leads per page of the API's list: the default, and the most a caller may ask for.
    INTAKE_API_PAGE_SIZE = 50
    INTAKE_API_MAX_PAGE_SIZE = 200
    # A POST's Idempotency-Key is remembered (with its answer) this many hours.
    INTAKE_IDEMPOTENCY_HOURS = 24
    # Webhooks: how long one delivery may take, and how many tries before it is dead.
    INTAKE_WEBHOOK_TIMEOUT = 10
    INTAKE_WEBHOOK_MAX_ATTEMPTS = 8
    # Subscriber URLs on private, loopback or link-local addresses, and plain http: allowed in
    # development and tests (a receiver on this machine), never in production.
    INTAKE_WEBHOOK_ALLOW_PRIVATE = False
    # Lead import: the largest CSV file accepted, and how many rows go in one transaction.
    INTAKE_IMPORT_MAX_BYTES = 50 * 1024 * 1024
    INTAKE_IMPORT_BATCH = 500
    # Origins allowed to frame the embeddable start of the inquiry ("https://www.clinic.example"
    # ...). Empty: no page may frame it, like every other page.
    INTAKE_EMBED_ORIGINS: tuple[str, ...] = ()
    # /metrics answers a request bearing this token; unset, it answers only loopback addresses.
    INTAKE_METRICS_TOKEN: str | None = None

    def read_integrations(self, env, number) -> None:
        """Read the settings above from the environment (``env`` and ``number`` are the
        config module's readers, so every error names its setting the same way)."""
        self.INTAKE_API_RATE_LIMIT = env("INTAKE_API_RATE_LIMIT", self.INTAKE_API_RATE_LIMIT)
        for name in (
            "INTAKE_API_PAGE_SIZE",
            "INTAKE_API_MAX_PAGE_SIZE",
            "INTAKE_IDEMPOTENCY_HOURS",
            "INTAKE_WEBHOOK_TIMEOUT",
            "INTAKE_WEBHOOK_MAX_ATTEMPTS",
            "INTAKE_IMPORT_MAX_BYTES",
            "INTAKE_IMPORT_BATCH",
        ):
            setattr(self, name, number(name, getattr(self, name)))
        self.INTAKE_EMBED_ORIGINS = (
            embed_origins(env("INTAKE_EMBED_ORIGINS")) or self.INTAKE_EMBED_ORIGINS
        )
        self.INTAKE_METRICS_TOKEN = env("INTAKE_METRICS_TOKEN")
        allow = os.environ.get("INTAKE_WEBHOOK_ALLOW_PRIVATE", "").strip().lower()
        if allow:
            self.INTAKE_WEBHOOK_ALLOW_PRIVATE = allow in ("1", "true", "yes")
