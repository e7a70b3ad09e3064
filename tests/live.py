"""A client for a server running in another process, shaped like Flask's test client so the
same form helpers drive both."""

from __future__ import annotations

import http.cookiejar
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass


@dataclass
class LiveResponse:
    status_code: int
    headers: dict
    body: bytes

    def get_data(self, as_text: bool = False):
        return self.body.decode() if as_text else self.body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class LiveClient:
    """Keeps cookies like a browser, and does not follow redirects (as the test client)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
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

    def post(self, path: str, data) -> LiveResponse:
        items = data.items(multi=True) if hasattr(data, "items") else data
        body = urllib.parse.urlencode(list(items)).encode()
        return self._open(urllib.request.Request(self.base_url + path, data=body, method="POST"))


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
