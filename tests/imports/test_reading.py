"""Files as spreadsheets and other systems write them: UTF-8 with and without a byte-order
mark, UTF-16, Windows-1252 and Latin-1; commas, semicolons, tabs; rows sealed at rest."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.imports.reading import UnreadableFile, start_job
from intake.models import ImportJob, ImportRow
from tests.imports.conftest import HEADERS, NOW, csv_bytes, upload

ROWS = [["José", "Núñez", "jose@example.org", "+34612345678", "ES"],
        ["Zoë", "Brontë", "zoe@example.org", "", "GB"]]  # fmt: skip


def stored(app, job_id):
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        rows = db.session.scalars(
            select(ImportRow).where(ImportRow.job_id == job_id).order_by(ImportRow.row_number)
        ).all()
        from intake.imports.checking import open_cells

        return (
            job.encoding,
            job.delimiter,
            job.headers,
            [(row.row_number, open_cells(row), row.cells_sealed) for row in rows],
        )


@pytest.mark.parametrize(
    ("encoding", "prefix", "read_as"),
    [("utf-8", b"", "utf-8"), ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"), ("utf-16", b"", "utf-16"),
     ("cp1252", b"", "cp1252")],
)  # fmt: skip
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters_read_the_same_rows(app, encoding, prefix, read_as, delimiter):
    data = prefix + csv_bytes(ROWS, delimiter=delimiter, encoding=encoding)
    job_id = upload(app, data)
    found_encoding, found_delimiter, headers, rows = stored(app, job_id)
    assert (found_encoding, found_delimiter, headers) == (read_as, delimiter, HEADERS)
    assert [(number, cells) for number, cells, _ in rows] == [(2, ROWS[0]), (3, ROWS[1])]
    assert all("José" not in sealed and "jose@" not in sealed for _, _, sealed in rows)


def test_latin_1_is_the_last_resort_and_reads_any_byte(app):
    data = (
        csv_bytes([["Ana", "Ruiz", "ana@example.org", "", "ES"]])
        + b"\x81\x8d,x,y@example.org,,ES\r\n"
    )
    _, _, _, rows = stored(app, upload(app, data))
    assert rows[1][1][0] == "\x81\x8d"


def test_blank_lines_are_skipped_and_later_rows_keep_their_spreadsheet_numbers(app):
    data = csv_bytes([ROWS[0], ["", "", "", "", ""], ROWS[1]])
    _, _, _, rows = stored(app, upload(app, data, batch=1))
    assert [number for number, _, _ in rows] == [2, 4]


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"", "the file is empty"), (b"First Name,Email\r\n", "the file has a header but no rows")],
)
def test_a_file_without_rows_is_refused_and_stores_nothing(app, data, why):
    with app.app_context():
        with pytest.raises(UnreadableFile, match=why):
            start_job(stream=io.BytesIO(data), filename="x.csv", created_by_id=None, batch=10,
                      now=NOW)  # fmt: skip
        db.session.rollback()
        assert db.session.scalar(select(ImportJob.id)) is None
