"""A real IMAP server for the reply mailbox tests: Debian's Dovecot, started by the test on a
free loopback port with its own configuration, users file and maildir in the test's folder, and
ended by its process id. Messages go in as a mail client would put them: IMAP APPEND.

Dovecot will not give mail to root: run as root, its mail processes chroot into the maildir's
folder (owned by the ``dovecot`` user, whose id they take) and its login processes run as
``dovenull``, as the Debian package sets them up; run as anyone else, everything runs as that
user. Without Dovecot these tests skip, or fail when INTAKE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from intake.conversations.inbound import open_text
from intake.conversations.mailbox import sweep_mailbox
from intake.extensions import db
from intake.messaging.mail import render_message
from intake.models import ConversationMessage, MailboxState, Send
from tests.conftest import service_unavailable
from tests.factories import NOW, make_lead, make_send, make_staff
from tests.live import free_port

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "replies", "s3cret"


class Dovecot:
    """One Dovecot instance; ``stop`` and ``start`` again keep its port and its mail."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.process: subprocess.Popen | None = None
        self.group = ""  # as root, Debian's own: the dovecot group
        self.config = root / "dovecot.conf"
        for folder in ("run", "state", "mail"):
            (root / folder).mkdir(parents=True)
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("dovecot")
            os.chown(root / "mail", mail_user.pw_uid, mail_user.pw_gid)
            ids, home = (mail_user.pw_uid, mail_user.pw_gid), f"{root / 'mail'}/./"
            users = ("root", "dovenull")  # internal processes, login processes
        else:
            ids, home = (os.getuid(), os.getgid()), str(root / "mail")
            users = (getpass.getuser(),) * 2
            self.group = f"default_internal_group = {grp.getgrgid(os.getgid()).gr_name}\n"
        (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{ids[0]}:{ids[1]}::{home}::\n")
        self.config.write_text(self._config(*users))

    def _config(self, internal_user: str, login_user: str) -> str:
        # Only root may chroot: otherwise the services that do by default must not.
        chroot = "" if os.geteuid() == 0 else "\n  chroot ="
        return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {self.root / "run"}
state_dir = {self.root / "state"}
log_path = {self.root / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_login_user = {login_user}
{self.group}first_valid_uid = 0
first_valid_gid = 0
valid_chroot_dirs = {self.root}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root / "users"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root / "users"}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}{chroot}
}}
service anvil {{{chroot}
}}
"""

    @property
    def url(self) -> str:
        return f"imap://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def start(self) -> None:
        with open(self.root / "stderr.log", "ab") as errors:
            self.process = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(self.config)],
                stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while not self._greets():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Dovecot did not start: {self.log()[-2000:]}")
            time.sleep(0.05)

    def _greets(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(100).startswith(b"* OK")
        except OSError:
            return False

    def stop(self) -> None:
        """End the server (its master process, which ends its children) by its process id."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in (self.root / "stderr.log", self.root / "dovecot.log")
            if path.exists()
        )

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def append(self, *messages: EmailMessage | bytes, folder: str = "INBOX") -> list[int]:
        """Put messages in the mailbox as a mail client would; their UIDs."""
        uids = []
        with self.client() as client:
            for message in messages:
                raw = message if isinstance(message, bytes) else message.as_bytes()
                answer = client.append(folder, raw, msg_time=NOW)
                uids.append(int(answer.split(b"]")[0].split()[-1]))  # [APPENDUID <v> <uid>]
        return uids

    def flags(self, folder: str = "INBOX") -> dict[int, tuple]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            fetched = client.fetch(client.search(["ALL"]), ["FLAGS"])
            return {uid: data[b"FLAGS"] for uid, data in fetched.items()}


@pytest.fixture
def dovecot(tmp_path):
    """A running Dovecot with one user and an empty INBOX, ended after the test."""
    if not DOVECOT.exists():
        service_unavailable("Dovecot (Debian package dovecot-imapd) is not installed")
    server = Dovecot(tmp_path / "imap")  # short: its sockets' paths must fit in 108 bytes
    server.start()
    try:
        yield server
    finally:
        server.stop()


def email(
    *,
    to: str,
    body: str = "",
    subject: str = "Re: your inquiry",
    sender: str = "Ada Byron <ada.byron@example.org>",
    message_id: str | None = None,
    **headers: str,
) -> EmailMessage:
    """An email as a patient's client writes it; ``headers`` with _ for - (In_Reply_To)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(NOW)
    if message_id is not None:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


# The app reading that mailbox, a patient it has written to, and what the sweep leaves --------

LATER = NOW + timedelta(hours=2)


@pytest.fixture
def mailbox_app(app_factory, dovecot):
    """The app with REPLY_MAILBOX_URL pointing at the test's Dovecot."""
    return app_factory(REPLY_MAILBOX_URL=dovecot.url)


@dataclass(frozen=True)
class Patient:
    lead_id: int
    owner_id: int
    send_id: int
    message_id: str  # of the confirmation email sent to them
    reply_to: str  # the Reply-To it carried
    headers: str  # its headers, as a bounce returns them


def patient(app, **fields) -> Patient:
    """A lead with an owner, who was sent the confirmation email (rendered as it went out, with
    its reply address) and has two nurture emails queued."""
    with app.app_context():
        owner = make_staff()
        lead = make_lead(owner_id=owner.id, **fields)
        send = make_send("confirmation", lead=lead)
        message = render_message(send=send, now=NOW)
        send.status, send.sent_at, send.message_id = "sent", NOW, message.message_id
        for step in (1, 2):
            make_send("nurture", step=step, lead=lead, at=NOW + timedelta(days=step))
        db.session.commit()
        headers = "".join(
            f"{name}: {value}\n"
            for name, value in {
                "From": app.config["INTAKE_MAIL_FROM"], "To": message.recipient,
                "Subject": message.subject, "Message-ID": message.message_id,
                **message.headers,
            }.items()
        )  # fmt: skip
        return Patient(lead.id, owner.id, send.id, message.message_id,
                       message.headers["Reply-To"], headers)  # fmt: skip


def sweep(app, *, now=LATER, **options) -> dict:
    """One sweep of the reply mailbox, committed as the worker commits it."""
    with app.app_context():
        counts = sweep_mailbox(now=now, commit=db.session.commit, **options)
        db.session.commit()
        return counts


def thread(app, lead_id: int) -> list[tuple]:
    """The lead's incoming messages: (kind, subject, body, in_reply_to_id), oldest first."""
    with app.app_context():
        rows = db.session.scalars(
            db.select(ConversationMessage)
            .where(ConversationMessage.lead_id == lead_id)
            .order_by(ConversationMessage.id)
        )
        return [
            (row.kind, open_text(row, "subject"), open_text(row, "body"), row.in_reply_to_id)
            for row in rows
        ]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def sends_of(app, lead_id: int) -> dict[str, list[str]]:
    """The lead's ledger rows: cadence → their statuses, in step order."""
    with app.app_context():
        rows = db.session.scalars(
            db.select(Send).where(Send.lead_id == lead_id).order_by(Send.cadence, Send.step)
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row.cadence, []).append(row.status)
        return found


def place(app) -> tuple[int | None, int]:
    """Where the sweep got to: (UIDVALIDITY, last UID)."""
    with app.app_context():
        state = db.session.scalars(db.select(MailboxState)).one()
        return state.uid_validity, state.last_uid
