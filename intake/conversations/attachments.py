"""Files a patient attaches to a reply: kept sealed within the size and type limits, or kept as
a row that says why they were refused, so staff see that something came and nothing is lost
silently. A file's type is the one it declares only when its first bytes agree (a "PDF" that
is not a PDF is refused), and a file sent as ``application/octet-stream`` is kept when its
bytes say it is one of the allowed types.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage

from flask import current_app

from intake.extensions import db, encryption
from intake.models import ConversationMessage, MessageAttachment

# The first bytes of each type we know how to recognise; a type not here is taken as declared.
MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


def attachment_context(row: MessageAttachment, part: str) -> str:
    """What a sealed part of an attachment is bound to, so it cannot be moved to another row."""
    return f"message_attachments:{row.id}:{part}"


def store_attachments(message: ConversationMessage, email: EmailMessage) -> list[MessageAttachment]:
    """A row for each file attached to ``email`` (a recorded reply): sealed, or refused."""
    body = email.get_body(preferencelist=("plain", "html"))
    rows = []
    for part in _leaves(email):
        if part is body or not _is_attachment(part):
            continue
        rows.append(_store(message, part))
    return rows


def _leaves(part: EmailMessage) -> Iterator[EmailMessage]:
    """Every part that is not a container; an attached email (message/rfc822) is one part."""
    if part.get_content_maintype() == "multipart":
        for child in part.iter_parts():
            yield from _leaves(child)
    else:
        yield part


def _is_attachment(part: EmailMessage) -> bool:
    """A file, not another rendering of the words (a text or HTML alternative)."""
    return (
        part.get_content_disposition() == "attachment"
        or part.get_filename() is not None
        or part.get_content_maintype() != "text"
    )


def _store(message: ConversationMessage, part: EmailMessage) -> MessageAttachment:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):  # an attached email: its own bytes
        data = part.as_bytes()
    declared = part.get_content_type()[:100]
    kind = _kind(declared, data)
    refused = None
    if len(data) > current_app.config["INTAKE_ATTACHMENT_MAX_BYTES"]:
        refused = "too_large"
    elif kind is None:
        refused = "type"
    row = MessageAttachment(
        message_id=message.id,
        filename_sealed="",
        content_type=kind or declared,
        size=len(data),
        refused=refused,
    )
    db.session.add(row)
    db.session.flush()
    keyring = encryption.keyring
    name = _filename(part)
    row.filename_sealed = keyring.seal(name.encode(), context=attachment_context(row, "filename"))
    if refused is None:
        row.data_sealed = keyring.seal(data, context=attachment_context(row, "data"))
    return row


def _sniff(data: bytes) -> str | None:
    """The type these bytes are, among those we recognise."""
    for kind, prefixes in MAGIC.items():
        if data.startswith(prefixes):
            return kind
    if data[4:8] == b"ftyp" and data[8:12] in HEIC_BRANDS:
        return "image/heic"
    return None


def _kind(declared: str, data: bytes) -> str | None:
    """The allowed type this file is, or None when it is not one (or pretends to be one)."""
    allowed = current_app.config["INTAKE_ATTACHMENT_TYPES"]
    sniffed = _sniff(data)
    known = (*MAGIC, "image/heic")
    if declared in allowed:
        return declared if declared not in known or sniffed == declared else None
    if declared == "application/octet-stream" and sniffed in allowed:
        return sniffed
    return None


def _filename(part: EmailMessage) -> str:
    """The file's own name without any folders or control characters, or "attachment"."""
    try:
        name = part.get_filename() or ""
    except (ValueError, LookupError, IndexError, TypeError):
        name = ""
    name = _UNSAFE_NAME.sub("", name.replace("\\", "/").rpartition("/")[2]).strip()
    return name[:200] or "attachment"


def attachment_filename(row: MessageAttachment) -> str:
    """The opened name of an attached file (kept even when the file was refused)."""
    return encryption.keyring.open(
        row.filename_sealed, context=attachment_context(row, "filename")
    ).decode()


def open_attachment(row: MessageAttachment) -> bytes:
    """The opened bytes of a kept file; ValueError for a refused one, which has none."""
    if row.data_sealed is None:
        raise ValueError(f"attachment {row.id} was refused ({row.refused}) and has no data")
    return encryption.keyring.open(row.data_sealed, context=attachment_context(row, "data"))
