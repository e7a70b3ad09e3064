"""A real SMTP server on loopback, and handlers that accept, refuse or hang up as told."""

from __future__ import annotations

from contextlib import contextmanager

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.live import free_port


class Recorder:
    def __init__(self) -> None:
        self.envelopes, self.authenticated = [], []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.authenticated.append(session.authenticated)
        return "250 2.0.0 Accepted"


class Answer:
    """Replies to RCPT and DATA as told, as a real server refusing a message would."""

    def __init__(self, rcpt: str = "250 2.1.5 OK", data: str = "250 2.0.0 OK") -> None:
        self.rcpt, self.data = rcpt, data

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return self.rcpt

    async def handle_DATA(self, server, session, envelope):
        return self.data


class HangUp:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        server.transport.close()
        return "250 2.1.5 OK"


def check_login(server, session, envelope, mechanism, auth_data):
    matches = (auth_data.login, auth_data.password) == (b"intake", b"s3cret")
    return AuthResult(success=matches, handled=False)  # not handled: aiosmtpd answers 535


@contextmanager
def smtp_server(handler):
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), authenticator=check_login,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
