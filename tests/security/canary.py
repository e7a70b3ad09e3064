"""Canary patient data for S-canary, and the scans that look for it wherever data may leak.

Every canary string shares the prefix ``zqcanary7`` (matched without regard to case), so one
search finds any of them, also inside base64 (Celery message bodies) and URL encoding. The
phone number is matched by its digits. Health answers, the staff's free text (notes, messages to
the patient) and what the patient writes back have their own canaries: they must never be found
in plain text in a database dump, where names and contact details are, by design (staff search
them)."""

from __future__ import annotations

import base64
import binascii
import logging
import re
import subprocess
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import unquote_plus, urlsplit

import redis
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import make_url

PREFIX = "zqcanary7"
PHONE_DIGITS = "2025550199"
CONTACT = {
    "filled_by": "someone_else",
    "first_name": "Zqcanary7first",
    "last_name": "Zqcanary7last",
    "caregiver_first_name": "Zqcanary7carerfirst",
    "caregiver_last_name": "Zqcanary7carerlast",
    "caregiver_relationship": "Zqcanary7relation",
    "caregiver_email": "zqcanary7carer@example.org",
    "caregiver_phone": "",
    "email": "zqcanary7@example.org",
    "phone": "(202) 555-0199",
    "preferred_contact_method": "email",
    "preferred_contact_time": "morning",
    "country": "US",
    "region": "Zqcanary7region",
    "postal_code": "Zqcanary7pc",
    "heard_about": "article",
    "consent_resume": "y",
}
ABOUT_MS = {
    "diagnosed": "yes",
    "ms_type": "RRMS",
    "diagnosis_year": "2015",
    "mobility": "cane",
    "edss_known": "no",
    "on_dmt": "yes",
    "dmt_name": "Zqcanary7dmt",
    "relapse_12m": "no",
    "symptoms": ["fatigue", "other"],
    "symptoms_other": "Zqcanary7symptoms tingling",
    "prior_stem_cell": "yes",
    "prior_stem_cell_when": "Zqcanary7stemcell 2019",
}
DATE_OF_BIRTH = "1937-06-23"
NOTE = "Zqcanary7note called back"
# Sealed at rest (README: health answers; models: staff free text): never plain in a dump.
SEALED = (
    "zqcanary7dmt", "zqcanary7symptoms", "zqcanary7stemcell", "zqcanary7note", DATE_OF_BIRTH,
)  # fmt: skip
# Kept in plain lead columns by design, for search: a dump without them was not searched.
PLAIN = ("zqcanary7first", "zqcanary7region")
# The conversation: what staff write to the patient (email and text), and what the patient writes
# back (by email, with a file attached, and by text). All of it is sealed at rest like notes.
# The staff's words reach the patient (their mail, their phone) by design; the patient's reach
# nobody, the owner's notice of a reply holding a link only.
STAFF_SUBJECT = "Zqcanary7staffsubject: your inquiry"
STAFF_EMAIL = "Zqcanary7staffemail, when may we call you?"
STAFF_TEXT = "Zqcanary7stafftext: please call the clinic back."
REPLY_SUBJECT = "Re: Zqcanary7replysubject"
REPLY_EMAIL = "Zqcanary7replyemail: after 5 pm, please."
REPLY_TEXT = "Zqcanary7replytext call me after 5"
ATTACHMENT_NAME = "zqcanary7scan.pdf"
ATTACHMENT_DATA = b"%PDF-1.4\n% zqcanary7pdfbytes\n%%EOF\n"
# The webhook ignores a text's media; its address names a canary to show nothing repeats it.
MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/zqcanary7photo"
STAFF_WORDS = ("zqcanary7staffsubject", "zqcanary7staffemail", "zqcanary7stafftext")
PATIENT_WORDS = (
    "zqcanary7replysubject", "zqcanary7replyemail", "zqcanary7replytext", "zqcanary7scan",
    "zqcanary7pdfbytes", "zqcanary7photo",
)  # fmt: skip

# The test's SMTP server (aiosmtpd) logs each line it receives at DEBUG: the mail provider's
# log, not the app's, so it is left out.
SINK_LOGGER = "mail.log"
_BASE64 = re.compile(rb"[A-Za-z0-9+/]{24,}={0,2}")


def _decoded(data: bytes) -> Iterable[bytes]:
    """The data, and every base64 run in it decoded (Celery bodies are base64 JSON)."""
    yield data
    for match in _BASE64.finditer(data):
        chunk = match.group()
        try:
            yield base64.b64decode(chunk + b"=" * (-len(chunk) % 4))
        except (binascii.Error, ValueError):
            continue


def hits(data: bytes | str, needles: Iterable[str] = (PREFIX, PHONE_DIGITS)) -> int:
    """How many times any needle occurs, in any case, also URL- or base64-encoded."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    count = 0
    for part in _decoded(raw):
        text = part.decode("utf-8", "replace")
        lowered = unquote_plus(text).lower()
        count += sum(lowered.count(needle.lower()) for needle in needles)
    return count


class LogCapture(logging.Handler):
    """Every log record in this process at DEBUG (the app's, the live server's access log,
    SQLAlchemy's, kombu's), formatted as the app formats them: JSON with every extra field
    and any traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(SINK_LOGGER):
            self.lines.append(self.format(record))

    def __enter__(self):
        root = logging.getLogger()
        self.level_before = root.level
        root.addHandler(self)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self.level_before)


class RedisMonitor:
    """Every command sent to one Redis database while open (MONITOR sees the whole server; only
    this database's commands are kept), so values written and consumed in between are seen.

    Closing sends a unique marker through the server and reads up to it, so every command sent
    before the close is read, however far the reader lags behind."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = urlsplit(url).path.lstrip("/") or "0"
        self.commands: list[str] = []
        self._marker = f"redis-monitor-end-{uuid.uuid4().hex}"
        self._thread = threading.Thread(target=self._run, name="redis-monitor", daemon=True)
        self._ready = threading.Event()
        self.error: Exception | None = None

    def _run(self) -> None:
        client = redis.Redis.from_url(self.url, socket_timeout=None)
        mine = f"[{self.db} "  # each line reads: <time> [<db> <client>] "COMMAND" "arg" ...
        try:
            with client.monitor() as monitor:
                self._ready.set()
                while True:
                    line = monitor.connection.read_response()
                    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line)
                    if self._marker in text:
                        return
                    if mine in text:
                        self.commands.append(text)
        except Exception as error:  # noqa: BLE001 (reported by __exit__, so no command is missed)
            self.error = error
        finally:
            self._ready.set()
            client.close()

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        redis.Redis.from_url(self.url).echo(self._marker)
        self._thread.join(timeout=10)
        if self.error is not None:
            raise AssertionError(f"the Redis monitor stopped early: {self.error!r}")
        if self._thread.is_alive():
            raise AssertionError("the Redis monitor did not see its end marker within 10 s")


def redis_snapshot(url: str) -> bytes:
    """Every key and value in the database, of every type, as bytes."""
    client = redis.Redis.from_url(url)
    parts: list[bytes] = []
    for key in client.scan_iter(count=500):
        kind = client.type(key)
        parts.append(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"list":
            parts.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                parts.extend((field, value))
        elif kind == b"set":
            parts.extend(client.smembers(key))
        elif kind == b"zset":
            parts.extend(member for member, _score in client.zrange(key, 0, -1, withscores=True))
    client.close()
    return b"\n".join(parts)


def daytime_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now, so quiet hours never hold a message."""
    offset = (12 - now.hour + 12) % 24 - 12
    if offset == 0:
        return "UTC"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs are inverted


def database_bytes(database_url: str) -> bytes:
    """A ``pg_dump`` of a PostgreSQL database (data and schema), or an SQLite file's bytes with
    its write-ahead log."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        data = b""
        for suffix in ("", "-wal", "-journal"):
            try:
                with open(url.database + suffix, "rb") as file:
                    data += file.read()
            except FileNotFoundError:
                continue
        return data
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(
        ["pg_dump", "--no-owner", f"--dbname={plain}"], check=True, capture_output=True, timeout=60
    ).stdout
