"""The connection a worker process keeps: reused across messages, opened again once when the
server let it go before DATA, never retried once DATA began, closed at shutdown, never used by
a process other than the one that opened it."""

from __future__ import annotations

import os
from email.message import EmailMessage

import pytest

from intake.messaging import smtp
from intake.messaging.smtp import Connection, TransientMailError
from tests.messaging.conftest import smtp_server


class Counting:
    """Accepts every message; counts connections (EHLO) and messages, can hang up as told."""

    def __init__(self) -> None:
        self.greetings, self.messages, self.quits = 0, [], 0
        self.hang_up_at_mail = self.hang_up_at_data = False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.hang_up_at_mail:
            self.hang_up_at_mail = False
            server.transport.close()
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.hang_up_at_data:
            server.transport.close()
            return "250 OK"
        self.messages.append(envelope.content)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        self.quits += 1
        return "221 Bye"


def email(number: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "no-reply@intake.local", "ada.byron@example.org"
    message["Subject"] = f"Message {number}"
    message.set_content("Hello Ada,\n")
    return message


@pytest.fixture
def server():
    handler = Counting()
    with smtp_server(handler) as controller:
        yield handler, f"smtp://127.0.0.1:{controller.port}"


def test_messages_share_one_connection_until_it_is_closed(server):
    handler, url = server
    connection = Connection()
    for number in range(3):
        connection.send(email(number), url=url, timeout=5)
    connection.close()

    assert (handler.greetings, len(handler.messages), handler.quits) == (1, 3, 1)


def test_a_connection_the_server_dropped_is_opened_again_once_before_data(server):
    handler, url = server
    connection = Connection()
    connection.send(email(1), url=url, timeout=5)
    handler.hang_up_at_mail = True  # as a server does with a connection idle too long

    connection.send(email(2), url=url, timeout=5)
    connection.close()
    assert (handler.greetings, len(handler.messages)) == (2, 2)


def test_a_failure_once_data_began_is_reported_and_never_sent_again(server):
    handler, url = server
    connection = Connection()
    connection.send(email(1), url=url, timeout=5)
    handler.hang_up_at_data = True

    with pytest.raises(TransientMailError):
        connection.send(email(2), url=url, timeout=5)
    assert (handler.greetings, len(handler.messages)) == (1, 1)  # no second connection, no copy


def test_a_connection_made_before_a_fork_is_dropped_unused_in_the_child(server, monkeypatch):
    handler, url = server
    connection = Connection()
    connection.send(email(1), url=url, timeout=5)
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as seen from a forked child

    connection.send(email(2), url=url, timeout=5)
    monkeypatch.undo()
    connection.forget()
    assert (handler.greetings, len(handler.messages), handler.quits) == (2, 2, 0)


def test_a_worker_process_keeps_its_connection_and_says_goodbye_at_shutdown(server):
    handler, url = server
    smtp.keep_open()
    try:
        for number in range(2):
            with smtp.connection() as connection:
                connection.send(email(number), url=url, timeout=5)
    finally:
        smtp.close_kept()
    with smtp.connection() as connection:  # no longer kept: one connection for one message
        connection.send(email(3), url=url, timeout=5)

    assert (handler.greetings, len(handler.messages), handler.quits) == (2, 3, 2)
