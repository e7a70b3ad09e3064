"""The SMTP side of email: connect, log in, send, say goodbye, and tell a transient failure from a
permanent one by its class and code alone (never the server's text, which may name the address).

A worker process keeps one connection and sends message after message over it (``keep_open``,
from the worker's process start-up signal; ``close_kept`` says goodbye at its shutdown): opening,
greeting and logging in again for each message would cost more than the message. A kept
connection is the process's own: one made before a fork is dropped in the child without a word,
never used by two processes. One the server has let go while it sat idle (closed, timed out, a
421) is opened again once, but only if the failure came before DATA: once the message itself is
on its way, a failure is reported and never retried here, as the server may have taken it.
Anywhere else (the web process, a shell) each message has a connection of its own.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


class MailError(Exception):
    """A delivery failed; the message holds the error class and SMTP code, never content."""

    def __init__(self, error: str, code: int | None = None) -> None:
        super().__init__(f"{error} {code}" if code else error)
        self.code = code


class TransientMailError(MailError):
    """Worth retrying later: a 4xx reply, a refused or dropped connection, a timeout."""


class PermanentMailError(MailError):
    """Retrying will not help: a 5xx reply. ``bounced`` when the recipient itself was refused
    (only then should the address be suppressed; a 5xx to our login or sender is our setup)."""

    def __init__(self, error: str, code: int | None = None, *, bounced: bool = False) -> None:
        super().__init__(error, code)
        self.bounced = bounced


class _NotesData:
    """An SMTP client that notes when a message's DATA began: a failure before that cannot have
    delivered it, so sending it again on a new connection cannot make a second copy."""

    data_begun = False

    def data(self, msg):
        self.data_begun = True
        return super().data(msg)


class _SMTP(_NotesData, smtplib.SMTP):
    pass


class _SMTPSSL(_NotesData, smtplib.SMTP_SSL):
    pass


def connect(url: str, timeout: float) -> smtplib.SMTP:
    """Open, secure and log in to the server named by ``smtp://`` or ``smtps://`` URL."""
    parts = urlsplit(url)
    starttls = parse_qs(parts.query).get("starttls", [""])[0].lower() in ("1", "true", "yes")
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        context = ssl.create_default_context()
        smtp = _SMTPSSL(host, parts.port or 465, timeout=timeout, context=context)
    elif parts.scheme == "smtp":
        smtp = _SMTP(host, parts.port or (587 if starttls else 25), timeout=timeout)
    else:
        raise PermanentMailError("UnsupportedSMTPScheme")
    try:
        if starttls:
            smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp


def close(smtp: smtplib.SMTP) -> None:
    """Say goodbye politely; a failure here cannot undo a message already accepted."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def classify(exc: Exception) -> MailError:
    """Transient or permanent, named by class and SMTP code only."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in exc.recipients.values()]
        worst = max(codes, default=None)
        if worst is not None and worst >= 500:
            return PermanentMailError(name, worst, bounced=True)
        return TransientMailError(name, worst)
    if isinstance(exc, smtplib.SMTPResponseException):
        if 500 <= exc.smtp_code < 600:
            return PermanentMailError(name, exc.smtp_code)
        return TransientMailError(name, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentMailError(name)  # e.g. STARTTLS asked of a server without it
    return TransientMailError(name)  # disconnects, refused or reset connections, timeouts


def _let_go(exc: Exception) -> bool:
    """Whether the server had let the connection go: it is closed, reset or silent, or the
    server said 421 (closing the channel) to the first thing we asked of it."""
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _reply in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


class Connection:
    """A connection to the server a URL names, opened when first needed and kept for the next
    message until closed; never used by a process other than the one that opened it."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None
        self._opened_for: tuple[str, float] | None = None
        self._pid = 0

    def send(self, email: EmailMessage, *, url: str, timeout: float) -> None:
        """Hand ``email`` to the server; raises a MailError when it did not take it. A kept
        connection the server has let go is opened again once, if the failure came before DATA.
        """
        while True:
            kept = self._kept(url, timeout)
            try:
                smtp = kept or self._open(url, timeout)
                smtp.data_begun = False
                smtp.send_message(email)
                return
            except (smtplib.SMTPException, OSError) as exc:
                self.close()
                if kept is None or kept.data_begun or not _let_go(exc):
                    # from None: the server's text may name the address
                    raise classify(exc) from None
            except BaseException:  # a time limit mid-message, say: nothing more is said on it
                self.forget()
                raise

    def _kept(self, url: str, timeout: float) -> smtplib.SMTP | None:
        if self._pid != os.getpid():
            self.forget()  # made before a fork: the parent's socket, not ours to speak on
        elif self._opened_for != (url, timeout):
            self.close()
        return self._smtp

    def _open(self, url: str, timeout: float) -> smtplib.SMTP:
        self._smtp = connect(url, timeout)
        self._opened_for, self._pid = (url, timeout), os.getpid()
        return self._smtp

    def close(self) -> None:
        """Say goodbye (QUIT) and let the connection go."""
        smtp, self._smtp, self._opened_for = self._smtp, None, None
        if smtp is not None:
            close(smtp)

    def forget(self) -> None:
        """Let the connection go without a word to the server (it may be another process's)."""
        smtp, self._smtp, self._opened_for = self._smtp, None, None
        if smtp is not None:
            smtp.close()


# The kept connections of this process, one per thread that sends (a prefork child has one).
_local = threading.local()
_kept_lock = threading.Lock()
_kept_connections: list[Connection] = []
_keeping = False


def keep_open() -> None:
    """From now on this process keeps its connections open between messages (a worker process
    at start-up); any it inherited from its parent are dropped unused."""
    global _keeping
    with _kept_lock:
        for connection in _kept_connections:
            connection.forget()
        _kept_connections.clear()
        _keeping = True
    _local.__dict__.clear()


def close_kept() -> None:
    """Say goodbye on every connection this process kept, and keep no more (at its shutdown)."""
    global _keeping
    with _kept_lock:
        kept = list(_kept_connections)
        _kept_connections.clear()
        _keeping = False
    for connection in kept:
        connection.close()


@contextmanager
def connection() -> Iterator[Connection]:
    """This thread's kept connection in a process that keeps them; else one for this message
    alone, closed (QUIT) as the block ends."""
    if _keeping:
        kept = getattr(_local, "connection", None)
        if kept is None:
            kept = _local.connection = Connection()
            with _kept_lock:
                _kept_connections.append(kept)
        yield kept
        return
    single = Connection()
    try:
        yield single
    finally:
        single.close()
