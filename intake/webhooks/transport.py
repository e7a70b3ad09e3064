"""One signed POST to a checked address: Standard Webhooks headers, no redirects, no proxy.

The request goes to the address ``intake.webhooks.addresses.resolve`` just checked, with the
host's name kept for the ``Host`` header, TLS SNI and certificate checking, so DNS cannot move
it somewhere else between the check and the connection."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook

from intake.webhooks.addresses import Destination

USER_AGENT = "intake-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code, or the kind of failure (never a body)."""

    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedAdapter(HTTPAdapter):
    """Connect to the checked address while verifying TLS for the host's own name."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


def body_of(payload: dict) -> bytes:
    """The exact bytes signed and sent."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(*, secret: str, message_id: str, body: bytes, now: datetime) -> dict:
    """The Standard Webhooks headers for one attempt (signed by the specification's library)."""
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=now, data=body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def post(destination: Destination, *, body: bytes, headers: dict, timeout: float) -> Outcome:
    """POST once; a redirect is an answer like any other non-2xx (never followed)."""
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: it would bypass the check
        session.mount(f"{destination.scheme}://", _PinnedAdapter(destination.host))
        try:
            response = session.post(
                destination.pinned_url,
                data=body,
                headers={**headers, "Host": destination.host_header},
                timeout=timeout,
                allow_redirects=False,
                stream=True,  # the body is never read
            )
        except requests.Timeout:
            return Outcome(None, "timeout")
        except requests.exceptions.SSLError:
            return Outcome(None, "TLS error")
        except requests.ConnectionError:
            return Outcome(None, "connection failed")
        response.close()
    code = response.status_code
    return Outcome(code, None if 200 <= code < 300 else f"HTTP {code}")
