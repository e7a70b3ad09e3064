"""Reading an uploaded CSV file into sealed import rows, a batch at a time.

The file is read twice from its (spooled) stream and never held whole: once in chunks to choose
the encoding (UTF-8 with or without a byte-order mark, UTF-16 with one, else Windows-1252, else
Latin-1, which reads any byte), then row by row through ``csv``, each batch of rows sealed and
inserted with one statement."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import insert

from intake.extensions import db, encryption
from intake.models import ImportJob, ImportRow

SAMPLE_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
DELIMITERS = ",;\t|"
MAX_COLUMNS = 200
MAX_CELL = 2000


class UnreadableFile(ValueError):
    """The file is not a CSV file we can read; the message says why in plain words."""


class NoHeaderRow(UnreadableFile):
    """The file's first row holds a person's details, not column names (its message never
    quotes a cell)."""


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[\d\s().\-/]+")
_NUMBER = re.compile(r"[\d\s.,:/\-+]+")


def _looks_like_contact(cell: str) -> bool:
    """An email address, or a phone number (7 to 15 digits, with the usual separators)."""
    cell = cell.strip()
    if _EMAIL.fullmatch(cell):
        return True
    return bool(_PHONE.fullmatch(cell)) and 7 <= sum(ch.isdigit() for ch in cell) <= 15


def _looks_like_value(cell: str) -> bool:
    """A value rather than a name for a column: contact details, a number, a date or a
    country."""
    from intake.imports.rows import country_code, read_date

    cell = cell.strip()
    return (
        _looks_like_contact(cell)
        or bool(_NUMBER.fullmatch(cell))
        or read_date(cell, "UTC") is not None
        or (len(cell) >= 2 and country_code(cell) is not None)
    )


def looks_like_data(header: list[str]) -> bool:
    """Whether the first row reads as a person's details rather than column names: a cell is
    an email address or a phone number, or no cell names a field we know and most of the
    filled cells are values (dates, numbers)."""
    from intake.imports.fields import guess_mapping

    filled = [cell for cell in header if cell.strip()]
    if any(_looks_like_contact(cell) for cell in filled):
        return True
    values = sum(_looks_like_value(cell) for cell in filled)
    return not guess_mapping(header) and values * 2 > len(filled)


def _decodes(stream: BinaryIO, encoding: str) -> bool:
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := stream.read(CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(stream: BinaryIO) -> str:
    """The encoding the whole file reads in (Python's codec name)."""
    stream.seek(0)
    head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        if _decodes(stream, encoding):
            return encoding
    return "latin-1"


def detect_delimiter(sample: str) -> str:
    """The delimiter ``csv.Sniffer`` finds in the first lines; a comma if it finds none."""
    lines = sample.splitlines()[:50]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _text(stream: BinaryIO, encoding: str) -> io.TextIOWrapper:
    stream.seek(0)
    return io.TextIOWrapper(stream, encoding=encoding, newline="")


def _records(text: io.TextIOWrapper, delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(text, delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise UnreadableFile(f"line {reader.line_num} could not be read as CSV") from exc


def read_header(stream: BinaryIO) -> tuple[str, str, list[str]]:
    """The file's encoding, delimiter and header row."""
    encoding = detect_encoding(stream)
    text = _text(stream, encoding)
    try:
        delimiter = detect_delimiter(text.read(SAMPLE_BYTES))
        text.seek(0)
        header = next(_records(text, delimiter), None)
    finally:
        text.detach()
    if not header or not any(cell.strip() for cell in header):
        raise UnreadableFile("the file is empty: its first line should name the columns")
    if looks_like_data(header):
        raise NoHeaderRow("the first row must name the columns, like First name, Email, Phone")
    if len(header) > MAX_COLUMNS:
        raise UnreadableFile(f"the file has more than {MAX_COLUMNS} columns")
    return encoding, delimiter, [cell.strip()[:100] for cell in header]


def store_rows(*, job: ImportJob, stream: BinaryIO, batch: int) -> int:
    """Seal and insert every row after the header that has something in it, ``batch`` rows
    per statement; returns how many. Row numbers are the spreadsheet's (the header is row 1),
    so a blank line skipped still leaves the next row its number."""
    keyring = encryption.keyring
    text = _text(stream, job.encoding)
    stored, pending = 0, []
    try:
        records = _records(text, job.delimiter)
        next(records, None)
        for number, cells in enumerate(records, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            cells = [cell[:MAX_CELL] for cell in cells[:MAX_COLUMNS]]
            sealed = keyring.seal_json(cells, context=ImportRow.context(job.id, number))
            pending.append(
                {
                    "job_id": job.id,
                    "row_number": number,
                    "cells_sealed": sealed,
                    "status": "pending",
                }
            )
            if len(pending) >= batch:
                db.session.execute(insert(ImportRow), pending)
                stored, pending = stored + len(pending), []
        if pending:
            db.session.execute(insert(ImportRow), pending)
            stored += len(pending)
    finally:
        text.detach()
    return stored


def start_job(
    *, stream: BinaryIO, filename: str, created_by_id: int | None, batch: int, now: datetime
) -> ImportJob:
    """A new job holding every row of the file, with a first guess at the mapping; the caller
    commits. Raises ``UnreadableFile`` for a file that is not CSV or has no rows."""
    from intake.imports.fields import guess_mapping

    encoding, delimiter, headers = read_header(stream)
    job = ImportJob(
        created_by_id=created_by_id,
        created_at=now,
        filename=(filename or "upload.csv")[:255],
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        mapping=guess_mapping(headers),
        status="uploaded",
    )
    db.session.add(job)
    db.session.flush()
    job.rows_total = store_rows(job=job, stream=stream, batch=batch)
    if not job.rows_total:
        raise UnreadableFile("the file has a header but no rows")
    return job
