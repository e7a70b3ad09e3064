"""Files attached to replies: kept sealed within the size and type limits, refused (with a row
that says why, and nothing of the file) otherwise; a file is the type its bytes say it is."""

from __future__ import annotations

import struct
import zlib
from unittest.mock import ANY

import pytest

from intake.conversations.attachments import attachment_filename, open_attachment
from intake.crypto import DecryptionError
from intake.extensions import db
from intake.models import MessageAttachment
from tests.conversations.conftest import email, patient, sweep, thread

LIMIT = 4096
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(32)


def png() -> bytes:
    """A real one-pixel PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def small_limit_app(app_factory, dovecot):
    return app_factory(REPLY_MAILBOX_URL=dovecot.url, INTAKE_ATTACHMENT_MAX_BYTES=LIMIT)


def stored(app) -> list[tuple]:
    """Each attachment row: (name, type, size, refused, the bytes kept or None)."""
    with app.app_context():
        rows = db.session.scalars(db.select(MessageAttachment).order_by(MessageAttachment.id))
        return [
            (attachment_filename(row), row.content_type, row.size, row.refused,
             open_attachment(row) if row.refused is None else row.data_sealed)
            for row in rows
        ]  # fmt: skip


def test_attachments_are_kept_sealed_or_refused_with_a_reason(small_limit_app, dovecot):
    ada = patient(small_limit_app)
    big = b"%PDF-1.7\n" + b"0" * LIMIT
    reply = email(to=ada.reply_to, body="Le mando el informe y una foto.")
    reply.add_attachment(PDF, "application", "pdf", filename="informe médico.pdf")
    reply.add_attachment(png(), "image", "png", filename="foto.png")
    reply.add_attachment(JPEG, "image", "jpeg", filename="C:\\fotos\\espalda.jpg")
    reply.add_attachment(HEIC, "image", "heic", filename="IMG_0001.HEIC")
    reply.add_attachment(big, "application", "pdf", filename="escaneo.pdf")
    reply.add_attachment(b"PK\x03\x04" + bytes(30), "application", "zip", filename="todo.zip")
    reply.add_attachment(b"MZ\x90\x00" + bytes(60), "application", "pdf", filename="factura.pdf")
    reply.add_attachment("<p>hola</p>", subtype="html", filename="nota.html")
    reply.add_attachment(png(), "application", "octet-stream", filename="captura")
    dovecot.append(reply)

    assert sweep(small_limit_app)["reply"] == 1
    assert sweep(small_limit_app)["reply"] == 0  # read again: no second copy of any file
    assert stored(small_limit_app) == [
        ("informe médico.pdf", "application/pdf", len(PDF), None, PDF),
        ("foto.png", "image/png", len(png()), None, png()),
        ("espalda.jpg", "image/jpeg", len(JPEG), None, JPEG),
        ("IMG_0001.HEIC", "image/heic", len(HEIC), None, HEIC),
        ("escaneo.pdf", "application/pdf", len(big), "too_large", None),
        ("todo.zip", "application/zip", 34, "type", None),
        ("factura.pdf", "application/pdf", 64, "type", None),  # not a PDF inside
        ("nota.html", "text/html", ANY, "type", None),  # its line ends as the server keeps them
        ("captura", "image/png", len(png()), None, png()),  # its bytes say what it is
    ]
    [(kind, _subject, body, _id)] = thread(small_limit_app, ada.lead_id)
    assert (kind, body) == ("reply", "Le mando el informe y una foto.")


def test_a_refused_file_cannot_be_opened_and_a_kept_one_is_bound_to_its_row(
    small_limit_app, dovecot
):
    ada = patient(small_limit_app)
    reply = email(to=ada.reply_to, body="dos archivos")
    reply.add_attachment(PDF, "application", "pdf", filename="a.pdf")
    reply.add_attachment(b"PK\x03\x04", "application", "zip", filename="b.zip")
    dovecot.append(reply)
    sweep(small_limit_app)

    with small_limit_app.app_context():
        kept, refused = db.session.scalars(
            db.select(MessageAttachment).order_by(MessageAttachment.id)
        ).all()
        assert PDF not in kept.data_sealed.encode()
        with pytest.raises(ValueError, match="refused"):
            open_attachment(refused)
        refused.data_sealed, refused.refused = kept.data_sealed, None  # moved to another row
        with pytest.raises(DecryptionError):
            open_attachment(refused)
        db.session.rollback()


def test_automatic_answers_keep_no_attachments(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    answer = email(to=ada.reply_to, body="Fuera de la oficina", Auto_Submitted="auto-replied")
    answer.add_attachment(PDF, "application", "pdf", filename="firma.pdf")
    dovecot.append(answer)

    assert sweep(mailbox_app)["auto_reply"] == 1
    assert stored(mailbox_app) == []
