"""The reply mailbox sweep: read new mail over IMAP, record each message once, keep our place.

REPLY_MAILBOX_URL names the mailbox: ``imap://user:pass@host:143/INBOX`` (``?starttls=true``
to secure it) or ``imaps://user:pass@host:993/Folder``; the path is the folder (INBOX when
empty). Unset, there is nothing to read and the sweep does nothing.

Where the sweep got to is a ``MailboxState`` row: the folder's UIDVALIDITY and the last UID read.
New messages are read in UID order, a bounded number a run; each is recorded and our place moved
past it in one transaction, committed before the next is read, and only then marked \\Seen (never
deleted). A sweep killed midway loses nothing (the message it was on is read again), and a
second sweep, or two at once, records nothing twice (each message is recorded once by its
Message-ID). A changed UIDVALIDITY (the folder was rebuilt) reads the folder again from the start,
the same Message-IDs keeping it from being recorded twice.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from imapclient import SEEN, IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import case, or_, update

from intake.conversations.incoming_mail import record_email
from intake.extensions import db, dialect_insert
from intake.models import MailboxState

logger = logging.getLogger(__name__)

# At most this many messages a run; the next run (a minute later) reads on.
SWEEP_LIMIT = 200
TIMEOUT_SECONDS = 30.0
OUTCOMES = ("reply", "auto_reply", "bounce", "duplicate", "unmatched")


class MailboxError(Exception):
    """The reply mailbox could not be read (refused, dropped, timed out, login refused). The
    message names the error's class only, never an address or a message's content; what was
    read before it stays recorded, and the next sweep carries on from there."""


@dataclass(frozen=True)
class MailboxSettings:
    host: str
    port: int
    secure: bool  # imaps: TLS from the first byte
    starttls: bool
    username: str
    password: str
    folder: str

    @property
    def name(self) -> str:
        """What the state row is kept under: this account's folder on this server."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"[:200]


def mailbox_settings(url: str) -> MailboxSettings:
    """The parts of a REPLY_MAILBOX_URL; ValueError for a scheme other than imap or imaps."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError("REPLY_MAILBOX_URL must start imap:// or imaps://")
    starttls = parse_qs(parts.query).get("starttls", [""])[0].lower() in ("1", "true", "yes")
    secure = parts.scheme == "imaps"
    return MailboxSettings(
        host=parts.hostname or "localhost",
        port=parts.port or (993 if secure else 143),
        secure=secure,
        starttls=starttls and not secure,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def sweep_mailbox(
    *, now: datetime, commit: Callable[[], None], limit: int = SWEEP_LIMIT
) -> dict[str, int]:
    """Read the reply mailbox's new messages and record each once; how many of each outcome
    ("reply", "auto_reply", "bounce", "duplicate", "unmatched").

    ``commit`` is the caller's: it runs after each message, so what was read stays read
    whatever happens next. Raises MailboxError when the mailbox cannot be reached or read."""
    counts = Counter(dict.fromkeys(OUTCOMES, 0))
    url = current_app.config.get("REPLY_MAILBOX_URL")
    if not url:
        return dict(counts)
    settings = mailbox_settings(url)
    with _session(settings) as client:
        validity = int(_imap(client.select_folder, settings.folder)[b"UIDVALIDITY"])
        last_uid = _place(settings.name, validity, now)
        commit()
        uids = sorted(uid for uid in _imap(client.search, ["UID", f"{last_uid + 1}:*"]))
        for uid in [uid for uid in uids if uid > last_uid][:limit]:
            fetched = _imap(client.fetch, [uid], ["BODY.PEEK[]"]).get(uid)
            if fetched is not None:  # gone meanwhile (expunged by someone else): move past it
                raw = fetched[b"BODY[]"]
                counts[record_email(raw, fallback_id=f"imap:{validity}:{uid}", now=now)] += 1
            _advance(settings.name, uid, now)
            commit()
            _imap(client.add_flags, [uid], [SEEN])
    return dict(counts)


def _place(name: str, validity: int, now: datetime) -> int:
    """The last UID read in this folder: 0 for a new folder or one whose UIDVALIDITY changed."""
    db.session.execute(
        dialect_insert()(MailboxState)
        .values(mailbox=name, uid_validity=validity, last_uid=0, checked_at=now)
        .on_conflict_do_nothing(index_elements=["mailbox"])
    )
    changed = db.session.execute(
        update(MailboxState)
        .where(
            MailboxState.mailbox == name,
            or_(MailboxState.uid_validity.is_(None), MailboxState.uid_validity != validity),
        )
        .values(uid_validity=validity, last_uid=0)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        logger.warning("reply mailbox UIDVALIDITY changed; reading it again from the start")
    return db.session.scalar(db.select(MailboxState.last_uid).where(MailboxState.mailbox == name))


def _advance(name: str, uid: int, now: datetime) -> None:
    """Move our place past ``uid`` (never back: another sweep may be further on)."""
    db.session.execute(
        update(MailboxState)
        .where(MailboxState.mailbox == name)
        .values(
            last_uid=case((MailboxState.last_uid < uid, uid), else_=MailboxState.last_uid),
            checked_at=now,
        )
        .execution_options(synchronize_session=False)
    )


# --- IMAP -------------------------------------------------------------------------------------

_IMAP_ERRORS = (IMAPClientError, imaplib.IMAP4.error, OSError)


def _imap(call, *args, **kwargs):
    """One IMAP call, its failure turned into a MailboxError that names only its class."""
    try:
        return call(*args, **kwargs)
    except _IMAP_ERRORS as error:
        raise MailboxError(f"reply mailbox unreadable: {type(error).__name__}") from None


@contextmanager
def _session(settings: MailboxSettings) -> Iterator[IMAPClient]:
    """A logged-in connection, logged out (or at least closed) however the sweep ends."""
    context = ssl.create_default_context()
    client = _imap(
        IMAPClient, settings.host, port=settings.port, ssl=settings.secure,
        ssl_context=context if settings.secure else None, timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    try:
        if settings.starttls:
            _imap(client.starttls, context)
        _imap(client.login, settings.username, settings.password)
        yield client
    finally:
        try:
            client.logout()
        except _IMAP_ERRORS:
            with suppress(OSError):
                client.shutdown()
