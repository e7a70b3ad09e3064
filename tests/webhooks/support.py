"""A real webhook receiver on loopback, and helpers that run the relay and the delivery service
the way the workers do (claim committed, then post, then record)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

from intake import jobs
from intake.extensions import db
from intake.models import WebhookDelivery
from intake.webhooks import delivery


class Receiver:
    """Answers each POST by the next scripted behaviour ("ok", "500", "hang"; then "ok"), and
    keeps what arrived: (headers, body, verified payload or None)."""

    def __init__(self, script=(), hang_seconds: float = 2.0) -> None:
        self.script = list(script)
        self.hang_seconds = hang_seconds
        self.secret: str | None = None
        self.received: list[tuple[dict, bytes, dict | None]] = []
        self.url = ""

    def verify(self, body: bytes, headers: dict) -> dict | None:
        try:
            return Webhook(self.secret).verify(body, headers)
        except Exception:  # noqa: BLE001  (an unverifiable message is recorded as None)
            return None

    @property
    def verified(self) -> list[dict]:
        return [payload for _, _, payload in self.received if payload is not None]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {key.lower(): value for key, value in self.headers.items()}
            receiver.received.append((headers, body, receiver.verify(body, headers)))
            behaviour = receiver.script.pop(0) if receiver.script else "ok"
            if behaviour == "hang":
                time.sleep(receiver.hang_seconds)
            code = 500 if behaviour == "500" else 302 if behaviour == "302" else 204
            self.send_response(code)
            if code == 302:
                self.send_header("Location", "http://169.254.169.254/latest/meta-data")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    return Handler


@contextmanager
def receiver_on_loopback(script=(), hang_seconds: float = 2.0) -> Iterator[Receiver]:
    receiver = Receiver(script, hang_seconds)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/intake"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def relay(now) -> list[int]:
    """Relay the outbox as the worker does; the webhook deliveries it planned."""
    planned = jobs.relay_outbox(now=now)
    db.session.commit()
    return [e.delivery_id for e in planned if isinstance(e, jobs.DeliverWebhook)]


def deliver(delivery_id: int, now) -> str:
    """One attempt, as the task makes it: claim and commit, post, record and commit."""
    if not delivery.claim_delivery(delivery_id=delivery_id, now=now):
        db.session.rollback()
        return "skipped"
    db.session.commit()
    outcome = delivery.attempt_delivery(delivery_id=delivery_id, now=now)
    db.session.commit()
    return outcome


def row(delivery_id: int) -> WebhookDelivery:
    return db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
