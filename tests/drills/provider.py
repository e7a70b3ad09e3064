"""A loopback HTTP server standing in for the text provider (Twilio's Messages resource) in the
drills: it takes the official library's real requests, may be slow or hold new ones back, and
counts what it took, as the drills' SMTP sink does for mail.

A text counts as taken when the provider answers ``201`` to a client still there. Every pause
comes before that; a request whose client died during one (a worker killed with ``kill -9``,
its socket closed by the kernel) is dropped, never taken: the twin of aiosmtpd cancelling a
message whose client hung up before its ``250``. What remains, the provider taking a text and
the worker dying before it hears the ``201``, is the small window delivery.py names; the drills
keep their kills out of it, as R1 keeps them out of the SMTP one."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "drill-token"
SENDER = "+15550100"


class DrillTextProvider:
    """Started with ``start()``, stopped with ``stop()``; ``url`` is the SMS_URL that sends the
    library's requests here."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taken: list[tuple[str, str]] = []  # (To, Body), in the order taken
        self.delay = 0.0
        self.paused = False  # hold every new request before taking it
        self.held = 0  # requests waiting in a pause now
        self.dropped = 0  # held requests whose client was gone when the pause ended
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what it took ---------------------------------------------------------------------

    @property
    def accepted(self) -> int:
        with self.lock:
            return len(self.taken)

    def counts(self) -> Counter:
        """How many times each (To, Body) was taken."""
        with self.lock:
            return Counter(self.taken)

    def numbers(self) -> set[str]:
        with self.lock:
            return {to for to, _body in self.taken}

    # --- the server -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"twilio://{SID}:{TOKEN}@127.0.0.1:{port}?from=%2B15550100&scheme=http"

    def start(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                provider.take(self, body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.paused = False
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)

    def take(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.paused:
            with self.lock:
                self.held += 1
            for _ in range(3000):  # at most 30 s
                if not self.paused:
                    break
                time.sleep(0.01)
            with self.lock:
                self.held -= 1
            if _client_gone(handler.connection):
                with self.lock:
                    self.dropped += 1
                return
        form = {name: values[-1] for name, values in parse_qs(body.decode()).items()}
        with self.lock:
            self.taken.append((form.get("To", ""), form.get("Body", "")))
            number = len(self.taken)
        answer = json.dumps(_created(form, number)).encode()
        handler.send_response(201)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)


def _client_gone(connection: socket.socket) -> bool:
    """The client closed its end (or reset it): it sends nothing more until it is answered,
    so anything readable now is the end of the connection."""
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _created(form: dict, number: int) -> dict:
    """Twilio's answer to a new message (abridged): its id and what it took."""
    return {"sid": f"SM{number:032d}", "account_sid": SID, "status": "queued",
            "to": form.get("To"), "from": form.get("From"), "body": form.get("Body"),
            "num_segments": "1"}  # fmt: skip
