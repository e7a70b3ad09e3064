"""The SMTP side of email: connect, log in, say goodbye, and tell a transient failure from a
permanent one by its class and code alone (never the server's text, which may name the address).
"""

from __future__ import annotations

import smtplib
import ssl
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


def connect(url: str, timeout: float) -> smtplib.SMTP:
    """Open, secure and log in to the server named by ``smtp://`` or ``smtps://`` URL."""
    parts = urlsplit(url)
    starttls = parse_qs(parts.query).get("starttls", [""])[0].lower() in ("1", "true", "yes")
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        context = ssl.create_default_context()
        smtp = smtplib.SMTP_SSL(host, parts.port or 465, timeout=timeout, context=context)
    elif parts.scheme == "smtp":
        smtp = smtplib.SMTP(host, parts.port or (587 if starttls else 25), timeout=timeout)
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
