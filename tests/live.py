"""Live servers and the requests that reach them: an app served from a thread, a client for a
server in another process (shaped like Flask's test client, so the same form helpers drive both),
and a rendezvous that holds two requests inside the same step at once."""

from __future__ import annotations

import http.cookiejar
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from werkzeug.serving import make_server


@dataclass
class LiveResponse:
    status_code: int
    headers: dict
    body: bytes

    def get_data(self, as_text: bool = False):
        return self.body.decode() if as_text else self.body


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class LiveClient:
    """Keeps cookies like a browser, and does not follow redirects (as the test client)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def _open(self, request: urllib.request.Request) -> LiveResponse:
        try:
            with self.opener.open(request, timeout=30) as response:
                return LiveResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return LiveResponse(error.code, dict(error.headers), error.read())

    def get(self, path: str) -> LiveResponse:
        return self._open(urllib.request.Request(self.base_url + path))

    def post(self, path: str, data, headers: dict | None = None) -> LiveResponse:
        items = data.items(multi=True) if hasattr(data, "items") else data
        body = urllib.parse.urlencode(list(items)).encode()
        request = urllib.request.Request(
            self.base_url + path, data=body, headers=headers or {}, method="POST"
        )
        return self._open(request)


def free_port() -> int:
    """An unused loopback TCP port (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, deadline: float) -> bytes:
    """The body at ``url`` once the server answers; raises after ``deadline`` (monotonic)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _closing(app):
    """``app``, with each response closed as soon as the server has sent it.

    Werkzeug's development server closes the response only after draining the socket, and
    that read raises when the browser has already reset the connection (Chromium does, after
    a favicon): the open static file then reaches the garbage collector, and the ResourceWarning
    fails whichever test runs next. Gunicorn, which serves production, has no such gap."""

    def wsgi(environ, start_response):
        response = app(environ, start_response)
        try:
            yield from response
        finally:
            if hasattr(response, "close"):
                response.close()

    return wsgi


def make_live_server(app):
    """A threaded Werkzeug server for ``app`` on a free loopback port (not yet serving)."""
    return make_server("127.0.0.1", 0, _closing(app), threaded=True)


@contextmanager
def serving(app):
    """``app`` served on a free loopback port from a thread; yields the base URL."""
    server = make_live_server(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Rendezvous:
    """Holds the first two calls of a function until both have arrived, so two requests really
    are inside the same step at once (rather than one finishing before the other starts)."""

    def __init__(self, parties: int = 2, timeout: float = 5) -> None:
        self.barrier, self.timeout = threading.Barrier(parties), timeout
        self.calls, self.lock = 0, threading.Lock()

    def _meet(self) -> None:
        with self.lock:
            self.calls += 1
            waiting = self.calls <= self.barrier.parties
        if waiting:
            with suppress(threading.BrokenBarrierError):
                self.barrier.wait(self.timeout)

    def before(self, function):
        def wrapper(*args, **kwargs):
            self._meet()
            return function(*args, **kwargs)

        return wrapper

    def after(self, function):
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            self._meet()
            return result

        return wrapper


def poll(check, *, timeout: float, every: float = 0.25):
    """``check``'s first truthy value, asked every ``every`` seconds; None at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    return None


def wait_until(check, timeout: float = 60.0, *, every: float = 0.25):
    """``check``'s first truthy value; the test fails if none comes within ``timeout``."""
    result = poll(check, timeout=timeout, every=every)
    if not result:
        raise AssertionError(f"condition not met in time (last: {check()!r})")
    return result
